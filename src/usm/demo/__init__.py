"""`usm demo`: a made-up service organisation, seeded through the apps' services and run for some
simulated days through the real engine, so that a new user opens a register that is already busy.

- `catalogue`: the organisation as data (customers, services, teams, profiles, agreements, logins);
- `people`, `register`, `procedures`, `phrases`: its people, its MIR, the RACI of the eight
  workflows, and what its requesters write;
- `seed`: writes the organisation through the services of each app (MIR by the logged import);
- `arrivals`: when calls come in and what they are; `crew`: how long the teams take;
- `simulate`: the simulated days, every change through `usm.calls.services`;
- `build`: migrate, refuse or wipe, seed and simulate in one transaction;
- `summary`: what the run left; `commands`: the Typer command.
"""
