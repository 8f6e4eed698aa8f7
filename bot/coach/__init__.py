"""The coach side: accounts, the dashboard's JSON API and its page."""
