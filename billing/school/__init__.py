"""The school module: staff, students and parents, news, calendar and recurring fees.

Pure domain code: functions take a session and an Actor, check the permission table, and
return results or raise UserError. Nothing here talks to a chat platform or HTTP.
"""
