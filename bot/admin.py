"""`python -m bot.admin ...`: the operator CLI (implemented in bot.runtime.admin)."""

from bot.runtime.admin import main

if __name__ == "__main__":
    main()
