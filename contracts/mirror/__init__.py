"""The contract suite for a TU's mirror endpoint (`tt-contracts run --mirror`): it plays the TO.

The mirror's contract is spec/mirror.yaml (read by spec.mirror.MirrorContract), its rules the
catalogue built from it (spec.catalogue). The run reuses the suite's machinery as it is: the
guarded transport, the client, results that name the catalogue rule each violation breaks, the
coverage and the reports; the layers are the provider's where a layer can serve both
(boundaries' checks, lifecycle's edge checks and random walks, auth's bad tokens, protocol's
odd inputs), and the mirror's own where the two endpoints differ (which ticket a path names, who
moves a ticket through PATCH).
"""
