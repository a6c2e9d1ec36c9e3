"""Validation of identity numbers, plates, phones and credit codes; code and region tables.

Pure functions only: no database, no Qt. Every checker returns a :class:`CheckResult` whose
messages are complete Chinese sentences naming the field (and the position when it helps).
"""

from desktop.validation.codes import CodeTable, code_table, table_names
from desktop.validation.idcard import check_id_number, id_check_char, make_id_number
from desktop.validation.masking import mask_id, mask_name, mask_phone
from desktop.validation.phone import check_phone
from desktop.validation.plate import check_plate
from desktop.validation.regions import counties, is_known, province_name, region_name
from desktop.validation.result import CheckResult, Issue
from desktop.validation.uscc import check_uscc, uscc_check_char

__all__ = [
    "CheckResult",
    "CodeTable",
    "Issue",
    "check_id_number",
    "check_phone",
    "check_plate",
    "check_uscc",
    "code_table",
    "counties",
    "id_check_char",
    "is_known",
    "make_id_number",
    "mask_id",
    "mask_name",
    "mask_phone",
    "province_name",
    "region_name",
    "table_names",
    "uscc_check_char",
]
