"""What every router of the API needs, the core's and the connectors' alike: the gateway and
the calling client as dependencies with their scope checks, accepting work into the outbox
with idempotency, problem+json errors and recorded refusals, CSV answers, redacted routes.

Connectors build their routers on this package only (they import the core, ``schemas`` and
themselves); :mod:`gateway.api` assembles the application from the registry.
"""
