#!/usr/bin/env bash
# Put metalearn-gui in the current user's application launcher: installs the desktop entry,
# the AppStream metainfo and the icons (from metalearn_gui/resources/) under
# ${XDG_DATA_HOME:-~/.local/share}. Nothing outside the home folder is touched.
#
#   packaging/install_desktop_entry.sh              # runs `metalearn-gui` from PATH (pipx, a venv)
#   packaging/install_desktop_entry.sh --exec PATH  # runs PATH: dist/metalearn-gui/metalearn-gui
#   packaging/install_desktop_entry.sh --uninstall  # removes what an install put there
set -euo pipefail

APP_ID=io.github.metalearn_gui.MetalearnGui
SIZES=(16 24 32 48 64 128 256 512)
resources=$(cd "$(dirname "$0")/../metalearn_gui/resources" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}

usage() { sed -n '2,8s/^# \{0,1\}//p' "$0"; }

installed_files() {
  echo "$data/applications/$APP_ID.desktop"
  echo "$data/metainfo/$APP_ID.metainfo.xml"
  echo "$data/icons/hicolor/scalable/apps/$APP_ID.svg"
  for size in "${SIZES[@]}"; do echo "$data/icons/hicolor/${size}x${size}/apps/$APP_ID.png"; done
}

refresh_caches() {  # desktops pick changes up without these too, only later
  if command -v update-desktop-database >/dev/null; then
    update-desktop-database -q "$data/applications" || true
  fi
  if command -v gtk-update-icon-cache >/dev/null; then
    gtk-update-icon-cache -q -t "$data/icons/hicolor" 2>/dev/null || true
  fi
}

install_entry() {
  local exec_command=$1
  local entry=$data/applications/$APP_ID.desktop line
  mkdir -p "$data/applications"
  while IFS= read -r line; do  # the entry, with the Exec line quoted for a path with spaces
    [[ $line == Exec=* && $exec_command != metalearn-gui ]] && line="Exec=\"$exec_command\""
    printf '%s\n' "$line"
  done <"$resources/$APP_ID.desktop" >"$entry"
  if [[ $exec_command == metalearn-gui ]] && ! command -v metalearn-gui >/dev/null; then
    echo "install_desktop_entry: note: metalearn-gui is not on PATH here; the launcher needs it there" \
         "(or use --exec PATH)" >&2
  fi
  install -Dm644 "$resources/$APP_ID.metainfo.xml" "$data/metainfo/$APP_ID.metainfo.xml"
  install -Dm644 "$resources/icon.svg" "$data/icons/hicolor/scalable/apps/$APP_ID.svg"
  for size in "${SIZES[@]}"; do
    install -Dm644 "$resources/icons/$size.png" "$data/icons/hicolor/${size}x${size}/apps/$APP_ID.png"
  done
  refresh_caches
  echo "installed $APP_ID (the launcher runs $exec_command):"
  installed_files | sed 's/^/  /'
}

uninstall_entry() {
  installed_files | while IFS= read -r file; do rm -f "$file"; done
  refresh_caches
  echo "removed $APP_ID"
}

case "${1:-}" in
  "") install_entry metalearn-gui ;;
  --exec)
    if [[ $# -ne 2 || ! -f $2 || ! -x $2 ]]; then
      echo "install_desktop_entry: --exec needs an executable file" >&2
      exit 2
    fi
    # Quoted in the entry, so spaces are fine; these would need the spec's own escaping.
    if [[ $2 == *[\"\`\$\\%]* ]]; then
      echo "install_desktop_entry: the --exec path may not contain \" \` \$ \\ or %" >&2
      exit 2
    fi
    install_entry "$(cd "$(dirname "$2")" && pwd)/$(basename "$2")" ;;
  --uninstall) uninstall_entry ;;
  -h | --help) usage ;;
  *) usage >&2; exit 2 ;;
esac
