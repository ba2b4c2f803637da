# The two commands of the README: `make demo` and `make test`. Both install what they need.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
DEMO_DIR ?= demo-data
DEMO_PROFILES ?= 20000
DEMO_LISTEN ?= 127.0.0.1:8080
FUZZ_SECONDS ?= 20

DEB_PACKAGES := g++ cmake ninja-build ccache pkg-config librocksdb-dev libroaring-dev libsimdjson-dev \
  libfmt-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev libxxhash-dev libtbb-dev \
  libjemalloc-dev libabsl-dev libboost-dev libeigen3-dev libxgboost-dev libnlopt-dev libhnswlib-dev libhowardhinnant-date-dev tzdata libssl-dev libmaxminddb-dev libmaxmind-db-writer-perl zlib1g-dev wrk chromium \
  python3-numpy python3-scipy python3-sklearn python3-statsmodels python3-pandas

.PHONY: deps build test fuzz demo bench clean format

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-remove $$missing; \
	fi

$(BUILD_DIR)/build.ninja: | deps
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 900

# The libFuzzer targets in build-fuzz/ (clang, ASan+UBSan): regressions replayed, then
# FUZZ_SECONDS of fuzzing each (docs/api.md#fuzzing). `make test` replays the kept inputs in the
# ordinary build (fuzz_replay_* tests) and does not build this.
fuzz:
	tests/fuzz/run.sh $(FUZZ_SECONDS)

DEMO_NOW := 2026-11-01T00:00:00Z
TAILOR_DEMO = $(BUILD_DIR)/tailor --data-dir $(DEMO_DIR)

demo: build
	rm -rf $(DEMO_DIR)
	$(TAILOR_DEMO) demo --profiles $(DEMO_PROFILES)
	$(TAILOR_DEMO) profile show c0000001 --events 8
	@echo; echo "== the 20 reference segments (bench/segments) on the demo data, as of $(DEMO_NOW)"
	@for f in bench/segments/s*.rule; do $(TAILOR_DEMO) segment create $$(basename $$f .rule) --rule-file $$f > /dev/null || exit 1; done
	$(TAILOR_DEMO) segment eval --now $(DEMO_NOW)
	$(TAILOR_DEMO) scheme create lifecycle --member s15_cart_abandoners_7d --member s17_new_customers_60d --member s18_golf_email_promo --member s16_reactivation_180d --otherwise > /dev/null
	$(TAILOR_DEMO) scheme show lifecycle
	$(TAILOR_DEMO) segment explain s18_golf_email_promo c0000001 --now $(DEMO_NOW)
	@echo; echo "== recommendations with their reasons (docs/recommendations.md)"
	$(TAILOR_DEMO) segment create golf_beginner_owners --rule 'count(purchase where category = "golf_clubs" and item.level = "beginner") >= 1' > /dev/null
	$(TAILOR_DEMO) segment eval --now $(DEMO_NOW) > /dev/null
	$(TAILOR_DEMO) reco $$($(TAILOR_DEMO) segment members golf_beginner_owners | head -1) --count 3 --category golf_clubs
	@echo; echo "== tailor serve on the demo data (segments live on the real clock; Ctrl-C stops it)"
	$(TAILOR_DEMO) serve --listen $(DEMO_LISTEN)

# Ingest of the 1M-profile generated set against DuckDB's load, same run (docs/benchmarks.md).
bench: build
	bench/ingest_vs_duckdb.sh 1000000

format:
	clang-format -i $$(git ls-files '*.h' '*.cc')

clean:
	rm -rf $(BUILD_DIR)
