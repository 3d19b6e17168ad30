# Sparecloud: `make run` and `make test` work as root on a fresh machine; every
# set-up step is idempotent and skips what is already there at the right version.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

CARGO_HOME ?= $(HOME)/.cargo
export PATH := $(CARGO_HOME)/bin:$(CURDIR)/node_modules/.bin:$(PATH)
export CARGO_TERM_COLOR ?= never

TOOLCHAIN      := nightly-2026-05-20
TRUNK_VERSION  := 0.21.14
WASM_BINDGEN   := 0.2.130
# Where `make run` keeps its database and the demo sellers' agent state.
RUN_DIR        := data

WEB_SOURCES := $(shell find src style public web -type f 2>/dev/null) Trunk.toml build.rs \
               Cargo.toml Cargo.lock rust-toolchain.toml scripts/trunk-post-build.sh scripts/compress.mjs package-lock.json \
               $(shell find crates/api -type f -name '*.rs' -o -name Cargo.toml 2>/dev/null)

.PHONY: help setup toolchain trunk wasm-bindgen wasm-split node-deps chromium qemu test-image localstripe schemathesis build web server run test \
        test-rust test-e2e test-full-image fmt lint clean

help:
	@echo "make run    build everything and serve http://127.0.0.1:8080 with demo data"
	@echo "make test   every test: formatting, clippy, unit, API integration and browser tests"
	@echo "make build  the release web app (dist/) and the server and agent binaries"
	@echo "make fmt    format the code;  make lint  check formatting and clippy"

## ---- set-up (idempotent) -------------------------------------------------

setup: toolchain trunk wasm-bindgen wasm-split node-deps chromium qemu test-image localstripe schemathesis

toolchain:
	@rustup toolchain list | grep -q '^$(TOOLCHAIN)' \
	  && rustup target list --installed --toolchain $(TOOLCHAIN) | grep -q wasm32-unknown-unknown \
	  && rustup component list --installed --toolchain $(TOOLCHAIN) | grep -q '^rust-src' \
	  || rustup toolchain install $(TOOLCHAIN) --profile minimal \
	       --component rustfmt,clippy,rust-src --target wasm32-unknown-unknown

# A debug build: Trunk only orchestrates the build, and compiling it
# optimised takes minutes longer on a fresh machine.
trunk: toolchain
	@trunk --version 2>/dev/null | grep -qx 'trunk $(TRUNK_VERSION)' \
	  || cargo install --locked --debug trunk --version $(TRUNK_VERSION)

# Not --locked: one of its locked dependencies was yanked.
wasm-bindgen: toolchain
	@wasm-bindgen --version 2>/dev/null | grep -qx 'wasm-bindgen $(WASM_BINDGEN)' \
	  || cargo install wasm-bindgen-cli --version $(WASM_BINDGEN)

# Splits the app's wasm into lazily loaded chunks (scripts/trunk-post-build.sh).
wasm-split: toolchain
	@cargo install --list | grep -qx 'wasm_split_cli_support v0.2.4:' \
	  || cargo install --locked wasm_split_cli_support --version 0.2.4 --features build-binary

node-deps: node_modules/.package-lock.json
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

chromium:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null \
	  || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver; }

# The Stripe stand-in of the tests and the demo, in a project-local virtualenv.
localstripe:
	@scripts/localstripe.sh install

# schemathesis, which fuzzes the API against its OpenAPI document
# (e2e/api_schema.test.mjs), in a project-local virtualenv.
schemathesis:
	@scripts/schemathesis.sh install

# QEMU (from bookworm-backports, beside the image's qemu-utils), genisoimage
# and an SSH client, for the agent's qemu driver and its tests.
qemu:
	@scripts/install-qemu.sh

# The tiny test guest, built offline from Debian packages (cached).
test-image: qemu
	@scripts/build-test-image.sh target/images/sparecloud-test

## ---- build ---------------------------------------------------------------

build: web server

# The release app is built for size (never `trunk serve`'s debug builds):
# std rebuilt with the app so it is optimised and stripped with it, panics
# that abort at once (no formatting machinery for their messages), no
# file/line locations, and `{:?}` formatting compiled to nothing (so the app
# never shows users a Debug rendering). RUSTFLAGS replaces the target's
# rustflags in .cargo/config.toml, so `erase_components` is repeated here.
# Trunk builds the page; scripts/trunk-post-build.sh builds and splits the
# wasm with these flags (the cargo profile follows Trunk's --release).
WASM_RELEASE_ENV := CARGO_UNSTABLE_BUILD_STD=std,panic_abort \
  RUSTFLAGS="--cfg erase_components -Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none"

web: dist/index.html
dist/index.html: $(WEB_SOURCES) | toolchain trunk wasm-bindgen wasm-split node-deps
	$(WASM_RELEASE_ENV) trunk build --release
	@touch $@

server: toolchain
	cargo build --release --locked -p sparecloud-server -p sparecloud-agent

## ---- run -----------------------------------------------------------------

run: build test-image localstripe
	SPARECLOUD_RUN_DIR=$(RUN_DIR) scripts/run-demo.sh

## ---- test ----------------------------------------------------------------

test: setup lint test-rust test-e2e

# Payments go to localstripe (a stateful Stripe stand-in) started for the run.
test-rust: toolchain localstripe
	scripts/localstripe.sh run bash -c 'cargo test --workspace --locked && scripts/test-postgres.sh'

# Browser tests drive the real server (debug build, as `cargo test` left it)
# with the release web app.
# `--workspace` resolves features as `cargo test --workspace` does, so the
# binaries that run left are reused instead of rebuilt.
# Opt-in, slow (a few minutes per image to build, about one to boot): a
# full Debian cloud image (systemd, OpenSSH, cloud-init) and the LAMP, LEMP
# and PostgreSQL images built on it, each under the qemu driver.
FULL_IMAGES := debian-12 lamp lemp postgresql
test-full-image: qemu
	@for image in $(FULL_IMAGES); do \
	  scripts/build-full-image.sh target/images/$$image-full $$image && \
	  SPARECLOUD_FULL_IMAGE=target/images/$$image-full SPARECLOUD_FULL_IMAGE_KIND=$$image \
	    cargo test --locked -p sparecloud-agent --test full_image -- --nocapture || exit 1; \
	done

test-e2e: web node-deps chromium localstripe schemathesis
	cargo build --workspace --locked
	SPARECLOUD_SERVER_BIN=target/debug/sparecloud-server SPARECLOUD_E2E_BUILT=1 \
	  scripts/localstripe.sh run node --test --test-concurrency=1 e2e/

fmt: toolchain
	cargo fmt --all

lint: toolchain
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

clean:
	cargo clean
	rm -rf dist node_modules
