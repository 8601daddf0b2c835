# tools/device/bundle-env.sh — sourced (not run) by gpu-checks.sh and check-bundle.sh:
# `bundle_env BUNDLE_DIR SCRATCH_DIR` prints the environment the bundle's programs run with,
# one NAME=VALUE a line, for `env -i` or `export`. Only what the bundle itself needs: the
# libraries come from the programs' $ORIGIN RPATH, not from here.
bundle_env () {
  local b=$1 scratch=$2
  # The validation layer's manifest (it names the bundled library relative to itself).
  echo "VK_LAYER_PATH=$b/share/vulkan/explicit_layer.d"
  # Keep GLib and gdk-pixbuf from loading the system's modules, which were built against other
  # versions of these libraries: an empty module folder and an empty loader list (PNG and JPEG
  # are built into the bundled gdk-pixbuf).
  echo "GIO_MODULE_DIR=$b/lib/gio-modules"
  echo "GIO_USE_VFS=local"
  echo "GDK_PIXBUF_MODULE_FILE=$b/share/gdk-pixbuf/loaders.cache"
  echo "TESSERA_GOLDENS=$b/goldens"
  # Pipeline caches and other per-user state go to the scratch folder.
  echo "XDG_CACHE_HOME=$scratch/cache"
  echo "HOME=$scratch/home"
  echo "LC_ALL=C.UTF-8"
  echo "PATH=/usr/bin:/bin"
}
