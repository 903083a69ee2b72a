"""Profiler: record the runtime thread or open a speedscope file, see it as a flame chart.

By default only plugin code is shown (idle waits, the runtime and library frames are
folded into their plugin callers, as pyinstrument hides library frames), so a plugin's
few milliseconds fill the chart; "Plugin Code Only" off shows every frame. Saving
always writes the whole recording.

The function table (left) and the flame chart (right) are linked: selecting a function
highlights it (or roots the sandwich view on it), clicking a frame selects its row.
"Compare with…" diffs the profile against a file or the previous recording.
"""

from __future__ import annotations

import asyncio
import html
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QLabel,
    QMenu,
    QSplitter,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from logomesh_studio.devtools.profiler import Profile
from logomesh_studio.studio import theme
from logomesh_studio.studio.actions import make_action
from logomesh_studio.studio.formatting import clock, format_amount
from logomesh_studio.studio.resources import icon
from logomesh_studio.studio.widgets.flame_chart import DEFAULT_NOISE, VIEW_TITLES, FlameChart
from logomesh_studio.studio.widgets.function_table import FunctionTable, function_rows
from logomesh_studio.studio.widgets.search_field import SearchField

_log = logging.getLogger(__name__)

Recorder = Callable[[float], Awaitable[Profile]]
FILE_FILTER = "Speedscope profiles (*.speedscope.json *.json);;All files (*)"
_LOAD_ERRORS = (OSError, ValueError, KeyError, TypeError)


class ProfilerPane(QWidget):
    """Flame chart, function table and per-plugin summary of one profile, plus a diff."""

    sig_open_source_requested = Signal(str, int)
    sig_profile_loaded = Signal(str)  # title
    sig_baseline_changed = Signal(str)  # title, "" when cleared
    sig_recording_changed = Signal(bool)
    sig_error = Signal(str)

    def __init__(self, record: Recorder | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("profiler_pane")
        self._record = record
        self._profile: Profile | None = None
        self._baseline: Profile | None = None
        self._title = ""
        self._baseline_title = ""
        self._recordings: list[tuple[str, Profile]] = []  # the last two, oldest first
        self._stats = ""
        self._recording = False
        self._tasks: set[asyncio.Future] = set()
        self._build()
        self._wire_signals()
        self._update_actions()
        self._show_summary()

    # -- construction -----------------------------------------------------------------------

    def _action(self, name: str, text: str, icon_name: str, tip: str, shortcut: str = "") -> QAction:
        action = make_action(self, text, icon_name, tip, shortcut, name=name,
                             context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.addAction(action)
        return action

    def _build(self) -> None:
        self._build_actions()
        toolbar = self._build_toolbar()
        self.table = FunctionTable(self)
        self.table.setObjectName("function_table")
        self.chart = FlameChart(self)
        self.chart.setObjectName("flame_chart")
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("profiler_splitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.chart)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 5)
        self.splitter.setSizes([520, 980])
        self.summary = QLabel(self)
        self.summary.setObjectName("profile_summary")
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.summary.setContentsMargins(6, 3, 6, 3)
        self.summary.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(toolbar)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.summary)

    def _build_actions(self) -> None:
        self.action_open = self._action("action_open_profile", "Open Profile…", "open",
                                        "Open a speedscope profile (.speedscope.json)")
        self.action_save = self._action("action_save_profile", "Save Profile…", "save",
                                        "Save this profile as speedscope JSON", "Ctrl+S")
        self.action_record = self._action("action_record_profile", "Record", "record",
                                          "Profile the runtime thread for the chosen seconds")
        self.action_compare_file = self._action(
            "action_compare_file", "Compare with File…", "open",
            "Diff this profile against a speedscope file (the file is the baseline)")
        self.action_compare_previous = self._action(
            "action_compare_previous", "Compare with Previous Recording", "history",
            "Diff this profile against the recording before it")
        self.action_clear_baseline = self._action("action_clear_baseline", "Stop Comparing",
                                                  "clear", "Forget the diff baseline")
        self.action_plugin_code = self._action(
            "action_plugin_code_only", "Plugin Code Only", "plugin",
            "Show only plugin code: idle waits, the runtime and library frames are folded "
            "into their plugin callers (off: every frame)")
        self.action_plugin_code.setCheckable(True)
        self.action_plugin_code.setChecked(True)
        self.action_orientation = self._action(
            "action_flip_orientation", "Flame Orientation", "flip-vertical",
            "Roots at the bottom (flame graph) instead of at the top (icicle)")
        self.action_orientation.setCheckable(True)
        self.action_reset_zoom = self._action("action_reset_zoom", "Reset Zoom", "zoom-reset",
                                              "Show the whole profile", "Ctrl+0")

    def _build_toolbar(self) -> QToolBar:
        toolbar = QToolBar("Profiler", self)
        toolbar.setObjectName("profiler_toolbar")
        toolbar.setIconSize(toolbar.iconSize() * 0.75)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        toolbar.addAction(self.action_open)
        toolbar.addAction(self.action_save)
        toolbar.addSeparator()
        toolbar.addAction(self.action_record)
        self.duration = QDoubleSpinBox(self)
        self.duration.setObjectName("profile_duration")
        self.duration.setRange(0.2, 600.0)
        self.duration.setDecimals(1)
        self.duration.setValue(5.0)
        self.duration.setSuffix(" s")
        self.duration.setToolTip("How long Record samples the runtime thread")
        toolbar.addWidget(self.duration)
        toolbar.addSeparator()
        toolbar.addWidget(self._build_compare_button())
        toolbar.addSeparator()
        toolbar.addWidget(self._build_view_combo())
        self._noise_action = toolbar.addWidget(self._build_noise_spin())
        toolbar.addAction(self.action_plugin_code)
        toolbar.addAction(self.action_orientation)
        toolbar.addAction(self.action_reset_zoom)
        self.search = SearchField("Search functions…", self)
        self.search.setObjectName("profile_search")
        self.search.setToolTip("Highlight frames and list functions whose name or file "
                               "contains this text")
        self.search.setMaximumWidth(260)
        toolbar.addWidget(self.search)
        self.match_label = QLabel(self)
        self.match_label.setContentsMargins(6, 0, 4, 0)
        toolbar.addWidget(self.match_label)
        return toolbar

    def _build_compare_button(self) -> QToolButton:
        self.compare_menu = QMenu("Compare", self)
        self.compare_menu.addAction(self.action_compare_file)
        self.compare_menu.addAction(self.action_compare_previous)
        self.compare_menu.addSeparator()
        self.compare_menu.addAction(self.action_clear_baseline)
        self.compare_button = QToolButton(self)
        self.compare_button.setObjectName("compare_button")
        self.compare_button.setIcon(icon("compare"))
        self.compare_button.setText("Compare with…")
        self.compare_button.setToolTip("Diff this profile against a file or the previous "
                                       "recording")
        self.compare_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.compare_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.compare_button.setMenu(self.compare_menu)
        return self.compare_button

    def _build_view_combo(self) -> QComboBox:
        self.view_combo = QComboBox(self)
        self.view_combo.setObjectName("flame_view")
        self.view_combo.setToolTip("Time order: samples as recorded · Left heavy: identical "
                                   "stacks merged, heaviest first · Sandwich: callers and "
                                   "callees of the selected function · Diff: against the "
                                   "baseline")
        self.view_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        for view, title in VIEW_TITLES.items():
            self.view_combo.addItem(title, view)
        self.view_combo.setCurrentIndex(self.view_combo.findData("left-heavy"))
        return self.view_combo

    def _build_noise_spin(self) -> QDoubleSpinBox:
        self.noise = QDoubleSpinBox(self)
        self.noise.setObjectName("diff_noise")
        self.noise.setRange(0.0, 50.0)
        self.noise.setDecimals(1)
        self.noise.setSingleStep(0.5)
        self.noise.setValue(DEFAULT_NOISE * 100)
        self.noise.setPrefix("noise ±")
        self.noise.setSuffix(" %")
        self.noise.setToolTip("Diff: changes smaller than this share of the profile are "
                              "drawn grey")
        return self.noise

    def _wire_signals(self) -> None:
        self.action_open.triggered.connect(self._on_open_triggered)
        self.action_save.triggered.connect(self._on_save_triggered)
        self.action_record.triggered.connect(self._on_record_triggered)
        self.action_compare_file.triggered.connect(self._on_compare_file_triggered)
        self.action_compare_previous.triggered.connect(self._on_compare_previous_triggered)
        self.action_clear_baseline.triggered.connect(self._on_clear_baseline_triggered)
        self.action_plugin_code.toggled.connect(self._on_plugin_code_toggled)
        self.action_orientation.toggled.connect(self._on_orientation_toggled)
        self.action_reset_zoom.triggered.connect(self.chart.reset_zoom)
        self.view_combo.currentIndexChanged.connect(self._on_view_combo_changed)
        self.noise.valueChanged.connect(self._on_noise_changed)
        self.search.sig_search_changed.connect(self._on_search_changed)
        self.table.sig_function_selected.connect(self._on_table_function_selected)
        self.table.sig_open_source_requested.connect(self.sig_open_source_requested)
        self.chart.sig_function_clicked.connect(self._on_chart_function_clicked)
        self.chart.sig_open_source_requested.connect(self.sig_open_source_requested)
        self.chart.sig_view_changed.connect(self._on_chart_view_changed)

    # -- public -----------------------------------------------------------------------------

    @property
    def profile(self) -> Profile | None:
        return self._profile

    @property
    def title(self) -> str:
        return self._title

    @property
    def recording(self) -> bool:
        return self._recording

    @property
    def plugin_code_only(self) -> bool:
        return self.action_plugin_code.isChecked()

    def set_plugin_code_only(self, only: bool) -> None:
        """Show only plugin code (True, the default) or every frame of the profile."""
        self.action_plugin_code.setChecked(only)

    def shown(self, profile: Profile) -> Profile:
        """``profile`` as the chart shows it: plugin code only, or all of it."""
        return profile.plugin_code_only() if self.plugin_code_only else profile

    def load_profile(self, profile: Profile, title: str) -> None:
        """Show ``profile``; a diff baseline, if any, stays for comparing."""
        self._profile = profile
        self._title = title
        self._show_profile(profile)
        self._stats = _profile_stats(profile)
        self._on_search_changed(self.search.text())
        self._update_actions()
        self._show_summary()
        self.sig_profile_loaded.emit(title)

    def compare_with(self, baseline: Profile | None, title: str = "") -> None:
        """Use ``baseline`` as the diff's "before" and show the diff (None: stop comparing)."""
        self._baseline = baseline
        self.chart.set_baseline(self.shown(baseline) if baseline is not None else None)
        self._baseline_title = title if baseline is not None else ""
        self._update_actions()
        self.set_view("diff" if baseline is not None else
                      ("left-heavy" if self.chart.view == "diff" else self.chart.view))
        self._show_summary()
        self.sig_baseline_changed.emit(self._baseline_title)

    def set_view(self, view: str) -> None:
        self.chart.set_view(view)

    async def open_file(self, path: str | Path) -> Profile | None:
        """Load a speedscope file (parsed off the GUI thread) and show it."""
        profile = await self._read(path)
        if profile is not None:
            self.load_profile(profile, Path(path).name)
        return profile

    async def compare_file(self, path: str | Path) -> Profile | None:
        """Diff the current profile against the speedscope file at ``path``."""
        profile = await self._read(path)
        if profile is not None:
            self.compare_with(profile, Path(path).name)
        return profile

    async def save_file(self, path: str | Path) -> bool:
        """Write the current profile as speedscope JSON."""
        profile = self._profile
        if profile is None:
            return False
        try:
            await asyncio.to_thread(profile.save_speedscope, path)
        except OSError as exc:
            self._show_error(f"Could not save {path}: {exc.strerror or exc}")
            return False
        self._show_summary(note=f"Saved {path}")
        return True

    async def record(self, seconds: float) -> Profile | None:
        """Profile the runtime for ``seconds`` with the recorder this pane was given."""
        if self._record is None or self._recording:
            return None
        self._set_recording(True)
        try:
            profile = await self._record(seconds)
        except Exception as exc:  # the recorder runs plugin code's thread: report, don't crash
            _log.warning("recording a profile failed", exc_info=exc)
            self._show_error(f"Recording failed: {type(exc).__name__}: {exc}")
            return None
        finally:
            self._set_recording(False)
        title = f"Recording {clock(time.time(), milliseconds=False)} ({seconds:g} s)"
        self._recordings = [*self._recordings[-1:], (title, profile)]
        self.load_profile(profile, title)
        return profile

    # -- slots ------------------------------------------------------------------------------

    def _on_open_triggered(self) -> None:
        path = self._ask_open_path("Open Profile")
        if path:
            self._spawn(self.open_file(path))

    def _on_save_triggered(self) -> None:
        if self._profile is None:
            return
        path = self._ask_save_path()
        if path:
            self._spawn(self.save_file(path))

    def _on_record_triggered(self) -> None:
        self._spawn(self.record(self.duration.value()))

    def _on_compare_file_triggered(self) -> None:
        path = self._ask_open_path("Compare with Profile")
        if path:
            self._spawn(self.compare_file(path))

    def _on_compare_previous_triggered(self) -> None:
        previous = self._previous_recording()
        if previous is not None:
            self.compare_with(previous[1], previous[0])

    def _on_clear_baseline_triggered(self) -> None:
        self.compare_with(None)

    def _on_plugin_code_toggled(self, only: bool) -> None:
        if self._profile is None:
            return
        self._show_profile(self._profile)
        if self._baseline is not None:
            self.chart.set_baseline(self.shown(self._baseline))
        self._on_search_changed(self.search.text())
        self._show_summary()

    def _on_orientation_toggled(self, flame: bool) -> None:
        self.chart.set_orientation("flame" if flame else "icicle")

    def _on_view_combo_changed(self, index: int) -> None:
        view = self.view_combo.itemData(index)
        if view:
            self.chart.set_view(view)

    def _on_chart_view_changed(self, view: str) -> None:
        self.view_combo.blockSignals(True)
        self.view_combo.setCurrentIndex(self.view_combo.findData(view))
        self.view_combo.blockSignals(False)
        self._noise_action.setVisible(view == "diff")
        self._show_summary()

    def _on_noise_changed(self, percent: float) -> None:
        self.chart.set_noise_threshold(percent / 100.0)

    def _on_search_changed(self, text: str) -> None:
        matches = self.chart.set_search(text)
        self.table.set_filter(text)
        self.match_label.setText(f"{matches:,} frames" if text.strip() else "")

    def _on_table_function_selected(self, frame: int) -> None:
        self.chart.set_selected_function(frame)

    def _on_chart_function_clicked(self, frame: int) -> None:
        self.table.select_frame(frame)

    # -- internals --------------------------------------------------------------------------

    def _show_profile(self, profile: Profile) -> None:
        self.chart.set_profile(self.shown(profile))
        matrix, totals = self.chart.matrix, self.chart.totals
        if matrix is not None and totals is not None:  # set_profile just made both
            self.table.set_rows(function_rows(matrix.frames, totals), matrix.total, profile.unit)

    def _previous_recording(self) -> tuple[str, Profile] | None:
        """The latest recording other than the profile on screen."""
        return next((r for r in reversed(self._recordings) if r[1] is not self._profile), None)

    def _ask_open_path(self, caption: str) -> str:
        path, _ = QFileDialog.getOpenFileName(self, caption, "", FILE_FILTER)
        return path

    def _ask_save_path(self) -> str:
        stem = "".join(c if c.isalnum() or c in "-_." else "-" for c in self._title) or "profile"
        path, _ = QFileDialog.getSaveFileName(self, "Save Profile",
                                              f"{stem.removesuffix('.speedscope.json')}"
                                              ".speedscope.json", FILE_FILTER)
        return path

    async def _read(self, path: str | Path) -> Profile | None:
        try:
            return await asyncio.to_thread(Profile.from_speedscope, path)
        except _LOAD_ERRORS as exc:
            self._show_error(f"Could not open {path}: {exc}")
            return None

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _set_recording(self, recording: bool) -> None:
        self._recording = recording
        self._update_actions()
        if recording:
            self.summary.setText(f"Recording the runtime for {self.duration.value():g} s…")
        self.sig_recording_changed.emit(recording)

    def _update_actions(self) -> None:
        has = self._profile is not None
        self.action_save.setEnabled(has)
        self.action_record.setEnabled(self._record is not None and not self._recording)
        if self._record is None:
            self.action_record.setToolTip("Recording needs a running workspace")
        self.duration.setEnabled(self._record is not None and not self._recording)
        self.action_compare_file.setEnabled(has)
        self.action_compare_previous.setEnabled(has and self._previous_recording() is not None)
        self.action_clear_baseline.setEnabled(self.chart.has_baseline)
        self.compare_button.setEnabled(has)
        model = self.view_combo.model()
        assert isinstance(model, QStandardItemModel)  # a QComboBox's own model
        diff_item = model.item(self.view_combo.findData("diff"))
        diff_item.setEnabled(self.chart.has_baseline)
        self._noise_action.setVisible(self.chart.view == "diff")

    def _show_error(self, message: str) -> None:
        self._show_summary(note=message, error=True)
        self.sig_error.emit(message)

    def _show_summary(self, note: str = "", error: bool = False) -> None:
        parts = []
        profile = self._profile
        if profile is None:
            parts.append("No profile yet: record the runtime or open a .speedscope.json file.")
        else:
            parts.append(f"<b>{html.escape(self._title)}</b> · {self._stats}")
            if self.plugin_code_only:
                parts.append(self._plugin_code_note(profile))
            if self.chart.has_baseline:
                parts.append(f"baseline: {html.escape(self._baseline_title)}")
        if note:
            style = f" style='color:{theme.color('error').name()}'" if error else ""
            parts.append(f"<span{style}>{html.escape(note)}</span>")
        self.summary.setText(" · ".join(parts))


    def _plugin_code_note(self, profile: Profile) -> str:
        shown = self.chart.matrix.total if self.chart.matrix is not None else 0.0
        if shown <= 0:
            return ("<i>no plugin code ran in this recording (idle, runtime or library "
                    "time only): turn off Plugin Code Only to see every frame</i>")
        return (f"showing plugin code only: {format_amount(shown, profile.unit)} "
                f"({_pct(shown, profile.total_seconds)} of the recording)")


def _profile_stats(profile: Profile) -> str:
    """Length, samples, rate, idle time and time per plugin, as rich text."""
    def fmt(value: float) -> str:
        return format_amount(value, profile.unit)

    total = profile.total_seconds
    parts = [f"{fmt(total)} · {len(profile.samples):,} samples"
             + (f" ({profile.sample_rate:,.0f}/s)" if profile.sample_rate else "")]
    idle = profile.idle_seconds()
    if idle:
        parts.append(f"idle {fmt(idle)} ({_pct(idle, total)})")
    plugins = sorted(profile.plugin_seconds().items(), key=lambda kv: -kv[1])
    if plugins:
        parts.append("plugins: " + ", ".join(
            f"<b>{html.escape(name)}</b> {fmt(seconds)} ({_pct(seconds, total)})"
            for name, seconds in plugins[:8]))
    return " · ".join(parts)


def _pct(value: float, whole: float) -> str:
    return f"{100.0 * value / whole:.0f}%" if whole > 0 else "–"
