"""The kernels' shared codes (filters, reasons, score rows, static bits, topology
checks, strategies) as Python enums: see common.pxd, the one place they are numbered."""
