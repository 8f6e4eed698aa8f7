"""Drop-in booking: schedules from configuration, atomic seats in Redis, the dialogue flow."""
