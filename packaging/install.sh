#!/bin/sh
# Install the Model Steward bundle for the current user (no root needed):
#   <prefix>/opt/model-steward/   the bundle folder (copied from where this script lies)
#   <prefix>/bin/steward, steward-gui   links into it
#   applications/model-steward.desktop and the icon under $XDG_DATA_HOME (default ~/.local/share)
# Usage: ./install.sh [--prefix DIR] [--uninstall]      (default prefix: ~/.local)
set -eu

prefix="$HOME/.local"
action=install
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="$2"; shift 2 ;;
        --prefix=*) prefix="${1#--prefix=}"; shift ;;
        --uninstall) action=uninstall; shift ;;
        -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "install.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
done

here=$(cd "$(dirname "$0")" && pwd -P)
dest="$prefix/opt/model-steward"
bindir="$prefix/bin"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
apps="$data/applications"
icons="$data/icons/hicolor"

refresh() {
    # Menus pick the entry up without these too, only later; both tools are optional.
    command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$apps" || true
    command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$icons" || true
}

if [ "$action" = uninstall ]; then
    rm -f "$bindir/steward" "$bindir/steward-gui" "$apps/model-steward.desktop" \
          "$icons/scalable/apps/model-steward.svg" "$icons/256x256/apps/model-steward.png"
    rm -rf "$dest"
    refresh
    echo "Removed Model Steward from $prefix (workspaces were not touched)."
    exit 0
fi

[ -x "$here/steward" ] || { echo "install.sh: run it from the bundle folder (no steward next to it)" >&2; exit 1; }
if [ "$here" != "$dest" ]; then
    rm -rf "$dest.new"
    mkdir -p "$(dirname "$dest")"
    cp -a "$here" "$dest.new"  # -a keeps the steward-gui symlink and the executable bits
    rm -rf "$dest"
    mv "$dest.new" "$dest"
fi
mkdir -p "$bindir" "$apps" "$icons/scalable/apps" "$icons/256x256/apps"
ln -sfn "$dest/steward" "$bindir/steward"
ln -sfn "$dest/steward-gui" "$bindir/steward-gui"
cp "$here/model-steward.svg" "$icons/scalable/apps/model-steward.svg"
cp "$here/model-steward.png" "$icons/256x256/apps/model-steward.png"
# Exec and TryExec get the absolute path: a menu does not necessarily search ~/.local/bin.
sed -e "s|^Exec=steward-gui|Exec=\"$dest/steward-gui\"|" -e "s|^TryExec=steward-gui|TryExec=$dest/steward-gui|" \
    "$here/model-steward.desktop" > "$apps/model-steward.desktop"
refresh
echo "Installed Model Steward in $dest"
echo "  command line: $bindir/steward --help"
echo "  window:       $bindir/steward-gui   (or 'Model Steward' in the applications menu)"
case ":$PATH:" in *":$bindir:"*) ;; *) echo "  note: $bindir is not on your PATH" ;; esac
