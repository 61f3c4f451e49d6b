"""Help → About names the version, the libraries' versions and the data folder (issue 6)."""

from __future__ import annotations

import subprocess
import sys

from metalearn_gui import __version__
from metalearn_gui.ui.about import about_text


def test_about_names_versions_and_the_data_folder(tmp_path):
    text = about_text("metalearn-gui", tmp_path / "data <&>")
    assert __version__ in text and "TensorFlow" in text and "PySide6" in text and "Qt" in text
    assert "data &lt;&amp;&gt;" in text  # the folder, escaped for the rich-text box


def test_versions_never_import_tensorflow():
    code = ("import sys; from metalearn_gui.versions import library_versions; v = library_versions(); "
            "assert v['TensorFlow'] != 'not installed', v; assert 'tensorflow' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
