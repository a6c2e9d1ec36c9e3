"""The ledger kinds (no imports: the command line lists them without loading ReportLab)."""

LEDGER_KINDS: dict[str, str] = {
    "visits": "入户走访台账",
    "key_persons": "重点关注人员花名册",
    "floating": "流动人口花名册",
    "houses": "实有房屋台账",
    "vehicles": "实有车辆台账",
}
