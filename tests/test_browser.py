"""Each role's main path in a real browser: Debian's headless Chromium driven through its chromedriver,
against `opsdoc serve` running as a 文控 would start it. What a user clicks, types and downloads."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

from opsdoc.web.accounts import Accounts
from tests.support import SAMPLE_DOCX, edit_sample, serving, unavailable, uno_python
from tests.test_issue import V21

PASSWORD = "correct-horse-9"
USERS = (
    ("周建峰", "manager"),
    ("李文控", "controller"),
    ("王文控", "controller"),
    ("质检", "qa"),
    ("审计员", "auditor"),
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`opsdoc serve` on a free port, with an account for each role; its URL and a folder of workbooks."""
    uno_python()
    root = tmp_path_factory.mktemp("site")
    accounts = Accounts(root / "web")
    for name, role in USERS:
        accounts.add(name, role, PASSWORD)
    with serving(root / "web", root / "归档") as url:
        yield url, root


def _chromium(downloads: Path):
    if not shutil.which("chromium") or not shutil.which("chromedriver"):
        unavailable("Chromium and its driver", "chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or ""
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--lang=zh-CN",
        "--window-size=1280,900",
    ):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads)})
    return webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver") or ""))


@pytest.fixture
def browser(tmp_path: Path) -> Iterator:
    driver = _chromium(tmp_path / "下载")
    driver.implicitly_wait(20)  # LibreOffice may take seconds to lay out an issued version
    yield driver
    driver.quit()


def _sign_in(driver, url: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{url}/login")
    driver.find_element(By.NAME, "name").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    _click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "main button[type=submit]"))
    assert f"{name}（" in driver.find_element(By.CLASS_NAME, "who").text


def _submit(driver, url: str, page: str, files: dict[str, Path], tick: tuple[str, ...] = ()) -> str:
    from selenium.webdriver.common.by import By

    driver.get(f"{url}{page}")
    for field, path in files.items():
        driver.find_element(By.NAME, field).send_keys(str(path))
    for box in tick:
        driver.find_element(By.NAME, box).click()
    _click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "main button[type=submit]"))
    _job_done(driver)
    return driver.find_element(By.TAG_NAME, "main").text


def _job_done(driver) -> None:
    """Long work (an issue) answers with its progress page, which refreshes itself until the work is done."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 300, poll_frequency=0.3, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script(
            "return document.readyState === 'complete' && !document.getElementById('job-running')"
        )
    )


def _click_and_wait(driver, button) -> None:
    """Click, and wait until the next page has loaded in place of this one (an issue lays the document out:
    seconds). The old page is marked in its window object, which the next page no longer has."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("window.opsdocBefore = true")
    button.click()
    # asked while the page changes, the browser may answer with an error: that is asked again
    WebDriverWait(driver, 300, poll_frequency=0.2, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script("return window.opsdocBefore === undefined && document.readyState === 'complete'")
    )


def test_a_manager_checks_a_workbook_and_downloads_the_annotated_copy(server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    url, _ = server
    _sign_in(browser, url, "周建峰")
    workbook = edit_sample(tmp_path, {"文档信息!B4": "V2.1"}, name="我的项目.xlsx")
    shown = _submit(browser, url, "/check", {"workbook": workbook})
    assert "我的项目.xlsx：1 个错误" in shown and "cover-version-mismatch" in shown and "文档信息!B4" in shown
    browser.find_element(By.ID, "annotated").click()
    copy = tmp_path / "下载" / "我的项目_检查.xlsx"
    for _ in range(100):
        if copy.is_file() and copy.stat().st_size:
            break
        time.sleep(0.1)
    assert openpyxl.load_workbook(copy).sheetnames[0] == "检查结果"


def test_a_controller_issues_v21_and_v20_becomes_作废_on_its_date(server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    url, _ = server
    _sign_in(browser, url, "李文控")
    first = _submit(browser, url, "/issue", {"workbook": edit_sample(tmp_path, name="V2.0.xlsx")}, ("backdate",))
    assert "QT-YW-GF-BH01-001 V2.0：已发布并登记" in first
    # V2.1 took effect on 2026-10-15, before today: V2.0 is 作废 from that day
    second = _submit(browser, url, "/issue", {"workbook": edit_sample(tmp_path, V21, name="V2.1.xlsx")}, ("backdate",))
    assert "QT-YW-GF-BH01-001 V2.1：已发布并登记" in second and "V2.0：已作废" in second
    browser.get(f"{url}/register")
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#register tr")[1:]]
    assert rows[0].split()[2:4] == ["V2.1", "现行"] and rows[1].split()[2:4] == ["V2.0", "作废"]
    assert "2026-10-15" in rows[0] and "李文控" in rows[0]


def test_qa_compares_the_issued_version_with_a_new_workbook(server, browser, tmp_path):
    url, _ = server
    _sign_in(browser, url, "质检")
    newer = edit_sample(tmp_path, {**V21, "服务级别协议!C2": 10}, name="V2.1.xlsx")
    shown = _submit(browser, url, "/compare", {"old": SAMPLE_DOCX, "new": newer})
    assert f"{SAMPLE_DOCX.name} → V2.1.xlsx" in shown and "10分钟" in shown


def test_an_auditor_is_refused_an_issue(server, browser):
    from selenium.webdriver.common.by import By

    url, _ = server
    _sign_in(browser, url, "审计员")
    assert "发布" not in browser.find_element(By.TAG_NAME, "header").text  # not offered
    browser.get(f"{url}/issue")  # nor given when asked for
    assert "无权限" in browser.find_element(By.TAG_NAME, "main").text
    browser.get(f"{url}/audit")
    assert "拒绝：角色无权限" in browser.find_element(By.ID, "audit").text


def test_two_controllers_issuing_at_once_from_two_browsers_lose_nothing(server, tmp_path):
    url, root = server
    workbooks = [
        edit_sample(tmp_path, {"文档信息!B1": project, "文档信息!B3": code}, name=f"{code}.xlsx")
        for project, code in (
            ("滨海市中心血站信息系统运维服务项目", "QT-YW-GF-XZ01-001"),
            ("滨海市妇幼保健院信息系统运维服务项目", "QT-YW-GF-FY01-001"),
        )
    ]
    results: dict[str, str] = {}

    def issue_as(name: str, workbook: Path) -> None:
        driver = _chromium(tmp_path / name)
        driver.implicitly_wait(60)
        try:
            _sign_in(driver, url, name)
            results[name] = _submit(driver, url, "/issue", {"workbook": workbook}, ("backdate",))
        finally:
            driver.quit()

    threads = [
        threading.Thread(target=issue_as, args=pair) for pair in zip(("李文控", "王文控"), workbooks, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert "QT-YW-GF-XZ01-001 V2.0：已发布并登记" in results["李文控"]
    assert "QT-YW-GF-FY01-001 V2.0：已发布并登记" in results["王文控"]
    from opsdoc import api

    issued = {(e.file_code, e.issued_by) for e in api.register_entries(root / "归档")}
    assert {("QT-YW-GF-XZ01-001", "李文控"), ("QT-YW-GF-FY01-001", "王文控")} <= issued
    assert api.verify_archive(root / "归档").passes()
