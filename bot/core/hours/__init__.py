"""Opening hours per coach team, the days Jobbtorg is closed by the calendar, coach presence,
and whether a team is staffed (open and someone of it at the panel). Channel-free."""
