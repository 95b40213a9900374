"""The kernel codes (filters, reasons, static bits, topology checks, strategies) as
Python enums: see codes.pxd, the one place they are numbered."""
