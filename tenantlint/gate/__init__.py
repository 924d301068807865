"""The gate stage: which of the policies' findings a run reports.

Inline suppressions (:mod:`.suppressions`), a baseline of accepted findings
(:mod:`.baseline`), the lines a branch changed (:mod:`.gitdiff`), applied in that order by
:mod:`.filters`.
"""
