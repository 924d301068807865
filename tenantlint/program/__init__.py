"""The whole-project stage: per-file facts in, one policy input document out.

Only this stage sees every file at once. It resolves what no single file can know:
models to tables and tenant ownership (:mod:`.link`), routes to their handlers and
authentication (:mod:`.routes`, :mod:`.route_auth`, :mod:`.webproject`), export shapes
(:mod:`.exports`), the call graph (:mod:`.callgraph`), entry points and contexts
(:mod:`.contexts`), and the verdict of each query along the paths that reach it,
with guards and key provenance (:mod:`.paths`); also which joins carry the tenant
(:mod:`.joins`), the tenant filters libraries add at run time (:mod:`.runtime`),
PostgreSQL row-level security (:mod:`.rls`), and the related fields DRF builds for a
ModelSerializer (:mod:`.serializers`). It reads facts only, never source,
so a pre-commit run on three files still sees the whole program from the cache.
"""

from tenantlint.program.link import link

__all__ = ["link"]
