"""Load testing against a running app server: `make load` (manage.py load_test).

- `mixed.lua`: wrk's script for the mixed public traffic;
- `admin_session.py`: an editor signing in to the admin and saving change forms over
  plain HTTP, the way a browser does;
- `run.py`: starts `make serve`, runs wrk and the editor together, checks that no save
  was lost, and reports.
"""
