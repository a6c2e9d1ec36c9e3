"""What the HTTP layer's own refusals say: a request that does not parse or does not fit the
route's model, an unknown path, a wrong method. One Chinese sentence each, saying what actually
happened and where; FastAPI's and Starlette's English texts never reach a user."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

_PLACES = {"body": "请求内容", "query": "查询参数", "path": "路径", "header": "请求头", "cookie": "Cookie"}
_KINDS = {
    "int": "整数", "float": "数字", "string": "文本", "bool": "true 或 false", "list": "列表",
    "dict": "对象", "model": "对象", "none": "null",
}


def _where(loc: Sequence[Any]) -> str:
    if not loc:
        return "请求"
    place = _PLACES.get(str(loc[0]), str(loc[0]))
    path = ".".join(str(p) for p in loc[1:])
    return f"{place}中的“{path}”" if path else place


def _expected(kind: str) -> str:
    for key, label in _KINDS.items():
        if kind.startswith(key):
            return label
    return "正确的类型"


def explain(error: dict[str, Any]) -> str:
    """One validation error of pydantic/FastAPI, in Chinese."""
    kind = str(error.get("type", ""))
    loc = tuple(error.get("loc", ()))
    ctx = error.get("ctx") or {}
    where = _where(loc)
    if kind == "json_invalid":
        pos = loc[1] if len(loc) > 1 else "?"
        return f"请求内容不是有效的 JSON(约第 {pos} 个字符处出错)"
    if kind == "missing":
        return "缺少请求内容" if loc == ("body",) else f"缺少{where}"
    if kind == "extra_forbidden":
        return f"{where}是多余的字段"
    if kind in ("too_long", "string_too_long"):
        return f"{where}太长:最多 {ctx.get('max_length', '?')} {'项' if kind == 'too_long' else '个字符'}"
    if kind in ("too_short", "string_too_short"):
        return f"{where}太短:至少 {ctx.get('min_length', '?')} {'项' if kind == 'too_short' else '个字符'}"
    if kind in ("greater_than_equal", "greater_than"):
        return f"{where}太小:不能小于 {ctx.get('ge', ctx.get('gt', '?'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"{where}太大:不能大于 {ctx.get('le', ctx.get('lt', '?'))}"
    if kind == "string_pattern_mismatch":
        return f"{where}的取值不在允许的范围内"
    if kind.endswith("_parsing") or kind.endswith("_type"):
        return f"{where}应为{_expected(kind)}"
    return f"{where}的值不正确"


def validation_message(errors: Sequence[dict[str, Any]]) -> str:
    if not errors:
        return "请求格式不正确,请检查发送请求的程序或升级软件。"
    first = explain(errors[0])
    more = f"(另有 {len(errors) - 1} 处问题)" if len(errors) > 1 else ""
    return f"请求格式不正确:{first}{more},请检查发送请求的程序或升级软件。"


def http_message(status: int, method: str, path: str) -> str:
    """Starlette's own refusals (no route, wrong method, a body it could not read)."""
    if status == 404:
        return f"服务器上没有接口 {path[:200]}:请检查服务器地址,或把软件升级到与服务器相同的版本。"
    if status == 405:
        return f"接口 {path[:200]} 不接受 {method} 请求,请检查发送请求的程序或升级软件。"
    if status == 400:
        return "请求内容无法读取(不是 UTF-8 编码的 JSON),请检查发送请求的程序。"
    return f"服务器无法处理该请求(HTTP {status}),请稍后重试或联系管理员。"
