"""The blank workbook, shipped inside the opsdoc package as opsdoc.workbook_templates."""
