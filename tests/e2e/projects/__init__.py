"""Small asset modules used only by the operator end-to-end tests (tests/e2e/operator).

`hack/e2e-image` copies this directory into the test image as the package `e2e_projects`
(under /home/kasset/app, on PYTHONPATH); the tests import the same files on the host under
that name, so a compiled AssetGraph's code location matches what the pod imports.
"""
