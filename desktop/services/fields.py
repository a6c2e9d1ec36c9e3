"""Per-kind field metadata shared by services, CLI, GUI, printing and Excel: labels and code tables."""

from __future__ import annotations

LABELS: dict[str, dict[str, str]] = {
    "area": {"level": "层级", "code": "代码", "name": "名称", "parent_id": "上级", "note": "备注"},
    "address": {
        "grid_id": "所属网格", "code": "地址编码", "estate": "小区/街路巷", "building": "楼栋",
        "unit": "单元", "floor": "楼层", "room": "户室", "full_text": "地址全称",
        "longitude": "经度", "latitude": "纬度", "cancelled": "已注销",
    },
    "house": {
        "grid_id": "所属网格", "address_id": "房屋地址", "area_m2": "建筑面积", "layout": "户型",
        "built_year": "建成年份", "use": "房屋用途", "nature": "房屋性质", "title_no": "产权证号",
        "title_date": "发证日期", "owner_person_id": "房主", "owner_name": "房主姓名",
        "owner_cert_no": "房主证件号码", "owner_phone": "房主电话", "tenant_name": "承租人",
        "rent_start": "租赁开始日期", "rent_months": "租期(月)", "rent_monthly": "月租金",
        "rent_rooms": "出租间数", "rent_registered": "已登记备案",
        "security_pledge": "已签治安责任书", "note": "备注",
    },
    "household": {
        "grid_id": "所属网格", "house_id": "所住房屋", "hh_no": "户号", "hh_type": "户别",
        "head_person_id": "户主", "phone": "联系电话", "note": "备注",
    },
    "person": {
        "grid_id": "所属网格", "household_id": "所属户", "house_id": "现住房屋", "name": "姓名",
        "cert_type": "证件类型", "cert_no": "证件号码", "gender": "性别", "birth_date": "出生日期",
        "ethnicity": "民族", "native_region": "籍贯", "phone": "联系电话",
        "person_type": "人员类型", "hukou_address": "户籍地址", "relation": "与户主关系",
        "education": "文化程度", "political": "政治面貌", "marital": "婚姻状况",
        "religion": "宗教信仰", "health": "健康状况", "employment": "就业状况",
        "employer": "工作单位", "occupation": "职业", "residence_reason": "居住事由",
        "arrived_on": "来本地日期", "intended_stay": "拟居住期限",
        "residence_card_no": "居住证号", "marks": "关注标识", "derived_marks": "自动标识",
        "assistance_type": "帮扶类型", "disability_category": "残疾类别",
        "disability_grade": "残疾等级", "disability_cert_no": "残疾人证号", "note": "备注",
    },
    "vehicle": {
        "grid_id": "所属网格", "owner_person_id": "车主", "household_id": "所属户",
        "plate_no": "号牌号码", "plate_type": "号牌种类", "vehicle_type": "车辆类型",
        "brand": "品牌型号", "colour": "车身颜色", "vin": "车辆识别代号", "parking": "停放位置",
        "note": "备注",
    },
    "org_unit": {
        "grid_id": "所属网格", "address_id": "单位地址", "name": "单位名称",
        "uscc": "统一社会信用代码", "kind": "单位类型", "legal_person": "法定代表人",
        "contact_phone": "联系电话", "employees": "从业人数", "note": "备注",
    },
    "visit": {
        "grid_id": "所属网格", "household_id": "走访户", "visited_on": "走访日期",
        "duration_min": "时长(分钟)", "visitor": "走访人", "companions": "同行人员",
        "method": "走访方式", "situation": "家庭情况", "actions": "办理情况",
        "follow_up_on": "跟进日期", "return_visit": "回访情况", "satisfaction": "满意度",
    },
    "visit_need": {
        "grid_id": "所属网格", "visit_id": "所属走访", "category": "诉求类别",
        "content": "诉求内容", "status": "办理状态", "event_id": "转办事件",
    },
    "household_ledger": {
        "grid_id": "所属网格", "household_id": "户", "period": "统计期",
        "income_total": "家庭总收入", "income_wage": "工资性收入", "income_business": "经营性收入",
        "income_farming": "种养殖收入", "income_transfer": "转移性收入", "farming": "种植情况",
        "breeding": "养殖情况", "workers": "务工人数", "work_notes": "务工就业情况",
    },
    "grid_event": {
        "grid_id": "所属网格", "address_id": "事发地址", "household_id": "相关户",
        "title": "事件标题", "category": "事件类别", "subcategory": "子类", "source": "事件来源",
        "description": "事件描述", "place": "发生地点", "responsible_unit": "责任单位",
        "deadline": "办理期限", "state": "办理状态", "result_type": "办结类型",
        "satisfaction": "满意度", "reported_at": "上报时间", "reported_by": "上报人",
        "closed_at": "结案时间",
    },
    "event_step": {"state": "环节", "actor": "办理人", "acted_at": "办理时间", "note": "意见"},
    "dispute": {
        "grid_id": "所属网格", "event_id": "关联事件", "dispute_type": "纠纷类型",
        "parties": "当事人", "place": "发生地点", "occurred_on": "发生日期",
        "people_involved": "涉及人数", "description": "纠纷简要情况", "mediator": "调解人",
        "result": "调解结果", "agreement_form": "协议形式", "fulfilled": "履行情况",
        "return_visit_on": "回访日期", "return_visit_note": "回访情况",
    },
    "app_user": {
        "username": "用户名", "display_name": "姓名", "role": "角色", "active": "启用",
        "phone": "联系电话", "password_hash": "密码",
    },
    "user_grid": {"user_id": "用户", "grid_id": "网格"},
}

# field -> code table name (stored by national code, shown by label)
CODE_FIELDS: dict[str, dict[str, str]] = {
    "house": {"use": "house_use", "nature": "house_nature"},
    "household": {"hh_type": "household_type"},
    "person": {
        "cert_type": "cert_type", "gender": "gender", "ethnicity": "ethnicity",
        "person_type": "person_type", "relation": "relation", "education": "education",
        "political": "political", "marital": "marital", "employment": "employment_status",
        "residence_reason": "residence_reason", "assistance_type": "assistance_type",
        "disability_category": "disability_category", "disability_grade": "disability_grade",
    },
    "vehicle": {"plate_type": "plate_type", "vehicle_type": "vehicle_type"},
    "visit": {"method": "visit_method", "satisfaction": "satisfaction"},
    "visit_need": {"category": "need_category"},
    "grid_event": {
        "category": "event_category", "source": "event_source",
        "result_type": "event_result_type", "satisfaction": "satisfaction",
        "state": "event_state",
    },
    "dispute": {
        "dispute_type": "dispute_type", "result": "dispute_result",
        "agreement_form": "agreement_form",
    },
    "app_user": {"role": "user_role"},
}

KIND_LABELS = {
    "area": "区域", "address": "标准地址", "house": "房屋", "household": "户", "person": "人员",
    "vehicle": "车辆", "org_unit": "单位", "visit": "走访记录", "visit_need": "走访诉求",
    "household_ledger": "户情台账", "grid_event": "网格事件", "event_step": "事件环节",
    "dispute": "矛盾纠纷", "app_user": "用户", "user_grid": "网格分配", "attachment": "照片",
}


def label(kind: str, field: str) -> str:
    return LABELS.get(kind, {}).get(field, field)
