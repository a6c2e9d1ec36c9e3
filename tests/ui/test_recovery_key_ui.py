"""设置 → 本机数据加密 → 生成新的恢复密钥: an admin of an encrypted laptop gets a new recovery key,
shown once; the new key unlocks the database, a wrong password makes none."""

from __future__ import annotations

import re

from desktop.services.session import unlock_with_recovery_key
from tests.factories import encrypted_demo
from ui.context import AppContext
from ui.pages.settings import SettingsPage


def test_a_new_recovery_key_from_settings(qtbot, tmp_path, answers):
    path = tmp_path / "enc.db"
    store, admin = encrypted_demo(path, households=4, seed=2)
    try:
        page = SettingsPage(AppContext(store, admin))
        qtbot.addWidget(page)
        assert not page.recovery_button.isHidden() and page.recovery_button.isEnabled()
        assert page.encrypt_button.isHidden()
        answers.text("wrong-password").warning()
        page.new_recovery_key()
        assert "密码不正确" in answers.texts("warning")[-1]
        answers.text("demo1234").information()
        page.new_recovery_key()
        shown = answers.texts("information")[-1]
        key = re.search(r"([2-9A-HJKMNP-Z]{5}-){4}[2-9A-HJKMNP-Z]{5}", shown).group(0)
        assert "保险柜" in shown and unlock_with_recovery_key(path, key) == store.key
    finally:
        store.close()
