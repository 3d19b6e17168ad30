#!/bin/sh
# Trunk post_build hook (runs in the staging directory's context, before it
# replaces dist/).
set -eu
: "${TRUNK_STAGING_DIR:?run by trunk}"
: "${TRUNK_SOURCE_DIR:?run by trunk}"

# stylers' build.rs writes every component's scoped CSS here.
css="$TRUNK_SOURCE_DIR/target/stylers.css"
if [ ! -f "$css" ]; then
  echo "trunk-post-build: $css is missing: build.rs did not run" >&2
  exit 1
fi
cp "$css" "$TRUNK_STAGING_DIR/stylers.css"

# Precompressed copies, which the server sends by Accept-Encoding (br, else
# gzip, else the file itself).
if [ "${TRUNK_PROFILE:-debug}" = "release" ]; then
  find "$TRUNK_STAGING_DIR" -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' -o -name '*.html' -o -name '*.svg' \) \
    -exec gzip -9 -k -f -n {} \;
  node "$TRUNK_SOURCE_DIR/scripts/brotli.mjs" "$TRUNK_STAGING_DIR"
fi
