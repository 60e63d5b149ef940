"""opsdoc: the controlled 运维工作管理规范 document, generated from a structured workbook."""
