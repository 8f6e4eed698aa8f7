"""Notices the city posts ("Jobbtorg Järva is closed today"): a text per language, optionally
for some teams or districts, until an end time at which it ends by itself.

`model` reads and checks an operator's request, `board` keeps the notices in Redis, `flow`
sends each notice once per conversation with the next reply on channels whose page does not
show notices itself (`Capabilities.notices_in_page`: the web chat shows them above the chat).
"""
