"""Generate a valid workbook of about N data rows, spread over the long registers, from the sample.

Run: python benchmarks/generate.py 20000 /tmp/20k.xlsx
The result passes every rule, so a build measures the whole pipeline, not a refusal.
"""

import sys
from datetime import date, timedelta
from pathlib import Path

import openpyxl

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "滨海市第一人民医院信息系统运维服务项目.xlsx"
CATEGORIES = ["资产", "场所", "人员", "应用", "数据", "业务", "系统", "资源", "安全", "管理"]
PLAN = ["服务需求", "服务目标计划", "人员职责分工", "任务分解计划", "交付计划"]
TEAM = ["周建峰", "李振宇", "王思佳", "赵明远", "孙国栋"]
QUALITY = ["过程质量", "结果质量", "验收标准", "归档文档", "质量保障措施", "改进计划"]
KEPT = {"预算"}  # the sample's rows stay (资源计划 names its budget items) and the generated follow
# Share of the rows each register gets.
SHARES = {
    "服务目录": 0.3,
    "工作计划": 0.3,
    "风险登记": 0.2,
    "修订记录": 0.02,
    "预算": 0.06,
    "质量与验收": 0.06,
    "合同指标": 0.06,
}


def _clear(sheet) -> None:
    if sheet.max_row > 1:
        sheet.delete_rows(2, sheet.max_row)


def _rows(kind: str, count: int):
    start = date(2021, 1, 1)
    for i in range(count):
        if kind == "服务目录":
            yield [
                f"SC-{i + 1:05d}",
                CATEGORIES[i % 10],
                f"服务项{i + 1}",
                f"第{i + 1}项服务的内容说明\n按月巡检并记录",
                "驻场",
                "7×24",
                f"P{i % 4 + 1}",
                "巡检报告",
            ]
        elif kind == "工作计划":
            day = start + timedelta(days=i % 1500)
            yield [
                PLAN[i % 5],
                f"任务{i + 1}：按计划完成阶段工作",
                TEAM[i % 5],
                day,
                day + timedelta(days=7),
                "工作记录",
            ]
        elif kind == "风险登记":
            yield [
                f"R-{i + 1:05d}",
                ["客户满意度", "质量", "成本", "进度"][i % 4],
                f"风险{i + 1}的描述",
                i % 5 + 1,
                (i // 5) % 5 + 1,
                None,
                "第一条应对措施\n第二条应对措施",
                TEAM[i % 5],
            ]
        elif kind == "修订记录":
            day = start + timedelta(days=i)
            yield [
                f"V{i // 10 + 1}.{i % 10}",
                day,
                "周建峰",
                day,
                "吴海燕",
                day,
                "陈立群",
                f"第{i % 10 + 1}章：更新第{i + 1}项内容",
            ]
        elif kind == "预算":
            yield [f"预算项{i + 1}", "采购", 1000 + i, "按合同单价测算"]
        elif kind == "质量与验收":
            yield [QUALITY[i % len(QUALITY)], f"质量要求{i + 1}", "服务合同"]
        elif kind == "合同指标":
            yield [f"指标{i + 1}", "按合同约定", f"第{i + 1}条", f"P{i % 4 + 1}"]


def generate(rows: int, target: Path) -> None:
    book = openpyxl.load_workbook(SAMPLE)
    for kind, share in SHARES.items():
        sheet = book[kind]
        if kind not in KEPT:
            _clear(sheet)
        for values in _rows(kind, max(int(rows * share), 4)):
            sheet.append(values)
    revisions = book["修订记录"]
    book["文档信息"]["B4"] = revisions.cell(row=revisions.max_row, column=1).value  # cover = last revision
    book.save(target)


if __name__ == "__main__":
    generate(int(sys.argv[1]), Path(sys.argv[2]))
