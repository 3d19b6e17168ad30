#!/bin/sh
# Trunk post_build hook (runs in the staging directory's context, before it
# replaces dist/). Trunk builds the page, styles and copies; the wasm is
# built here because it is split into lazily loaded chunks (the sections
# of `lazy_section!` in src/app.rs), which must happen between cargo and
# wasm-bindgen, where Trunk has no hook:
#   cargo (with relocations) → wasm-split-cli → wasm-bindgen → wasm-opt
#   (and esbuild for the JS),
# all under wasm-<hash>/ (content-addressed, so cached for good), and the
# loader put into index.html.
set -eu
: "${TRUNK_STAGING_DIR:?run by trunk}"
: "${TRUNK_SOURCE_DIR:?run by trunk}"
# The project's root: the page's directory (web/) or, as Trunk versions
# differ, already the root.
root=$TRUNK_SOURCE_DIR
[ -f "$root/Cargo.toml" ] || root=$(dirname "$root")
cd "$root"
staging=$TRUNK_STAGING_DIR
profile=${TRUNK_PROFILE:-debug}

# RUSTFLAGS (the Makefile's release flags, if set) replace the target's
# rustflags in .cargo/config.toml, so erase_components is kept either way.
RUSTFLAGS="${RUSTFLAGS:---cfg erase_components} -Clink-arg=--emit-relocs"
export RUSTFLAGS
if [ "$profile" = release ]; then
  cargo_profile=wasm-release
else
  cargo_profile=dev
fi
cargo build --locked --profile "$cargo_profile" --target wasm32-unknown-unknown --bin sparecloud-web
out_profile=$cargo_profile
[ "$cargo_profile" = dev ] && out_profile=debug
raw="${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/$out_profile/sparecloud-web.wasm"

# Named by what makes its files: the wasm, this script and the npm tools'
# versions (the glue and chunks change with them too).
hash=$(cat "$raw" scripts/trunk-post-build.sh package-lock.json | sha256sum | cut -c1-16)
dir="wasm-$hash"
rm -rf "${staging:?}/$dir"
mkdir -p "$staging/$dir"
wasm-split-cli "$raw" "$staging/$dir" --out-name sparecloud-web --target web
wasm-bindgen "$staging/$dir/sparecloud-web.wasm" --target web --out-dir "$staging/$dir" \
  --keep-lld-exports --no-typescript
rm "$staging/$dir/sparecloud-web.wasm"
if [ "$profile" = release ]; then
  # The wasm features rustc's wasm32 target enables by default; wasm-opt
  # must be told, or it rejects the module.
  for wasm in "$staging/$dir"/*.wasm; do
    wasm-opt -Oz --converge --enable-bulk-memory --enable-mutable-globals \
      --enable-nontrapping-float-to-int --enable-sign-ext --enable-reference-types \
      --enable-multivalue "$wasm" -o "$wasm"
  done
  # The JS glue and chunk loader, minified (each stays an ES module with
  # its imports and exports; Trunk's own minifier fails on the glue).
  for js in "$staging/$dir"/*.js; do
    esbuild "$js" --minify --format=esm --target=es2022 --log-level=error --outfile="$js" --allow-overwrite
  done
fi

# The loader, fetched early: the glue module, the chunk loader it imports
# (found only once the glue is parsed otherwise) and the main wasm. Then a
# currency formatter made and dropped: the first one a page makes loads the
# locale's data (about 20 ms here, 0.1 ms for the next), which this does
# while the wasm downloads instead of before the app's first prices show.
loader="<link rel=modulepreload href=/$dir/sparecloud-web.js><link rel=modulepreload href=/$dir/__wasm_split.js><link rel=preload as=fetch type=application/wasm crossorigin href=/$dir/sparecloud-web_bg.wasm><script>new Intl.NumberFormat([],{style:'currency',currency:'EUR'})</script><script type=module>import init from '/$dir/sparecloud-web.js';await init({ module_or_path: '/$dir/sparecloud-web_bg.wasm' });</script>"
sed -i "s#</head>#$loader</head>#" "$staging/index.html"
grep -q "/$dir/sparecloud-web.js" "$staging/index.html" || {
  echo "trunk-post-build: index.html has no </head> for the loader" >&2
  exit 1
}

# stylers' build.rs writes every component's scoped CSS here.
css="target/stylers.css"
if [ ! -f "$css" ]; then
  echo "trunk-post-build: $css is missing: build.rs did not run" >&2
  exit 1
fi
cp "$css" "$staging/stylers.css"

# Precompressed copies, which the server sends by Accept-Encoding (br, else
# gzip, else the file itself).
if [ "$profile" = release ]; then
  node scripts/compress.mjs "$staging"
fi
