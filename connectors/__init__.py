"""The platforms the gateway speaks to, one package each.

:data:`REGISTRY` is the one list of them: adding a platform is one new folder under
``connectors/`` and one line here. The core reads the list and imports nothing else of this
package (:func:`gateway.core.registry.load_specs`).
"""

REGISTRY: tuple[str, ...] = (
    "connectors.dvcqg",
    "connectors.dancu",
    "connectors.vneid",
    "connectors.payment",
    "connectors.postal",
    "connectors.esign",
    "connectors.dkdn",
    "connectors.emc",
    "connectors.qlvb",
)
