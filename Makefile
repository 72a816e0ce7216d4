# rackvm: a thin wrapper over CMake (as Neovim's Makefile is).
#   make          build into build/ (optimised, with debug info)
#   make deps     install the Debian packages that are missing
#   make guest    build the guest images into build/guest/
#   make demo     deps + build + guest + the default demo
#   make check    deps + build + guest + the whole test suite (ctest, ASan/UBSan)
#   make format   clang-format every C file in place

BUILD      ?= build
CHECKBUILD ?= build/check
JOBS       ?= $(shell nproc)
CMAKE      ?= cmake

DEB_PACKAGES := build-essential cmake pkg-config libfabric-dev libfabric-bin \
	libibverbs-dev rdma-core ibverbs-utils libprotobuf-c-dev protobuf-c-compiler \
	libzmq3-dev libcmocka-dev spin busybox-static cpio xz-utils zstd \
	qemu-system-x86 vde2 iproute2 kmod clang-format

.PHONY: all build deps guest demo check check-long unit format clean

all: build

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing $$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "make deps: needs root (apt-get install)"; exit 1; fi; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

$(BUILD)/CMakeCache.txt:
	$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD)/CMakeCache.txt
	$(CMAKE) --build $(BUILD) -j $(JOBS)

guest: build
	$(CMAKE) --build $(BUILD) -j $(JOBS) --target guest

# Without a usable /dev/kvm the demo runs inside a QEMU host (rackvm sim).
DEMO_RUN = if [ -c /dev/kvm ] && (exec 3<>/dev/kvm) 2>/dev/null; then \
	$(BUILD)/rackvm run $(1); else \
	echo "make demo: no usable /dev/kvm here: running in a QEMU host (rackvm sim)"; \
	$(BUILD)/rackvm sim --hosts 1 -- $(1); fi

demo: deps build guest
	$(call DEMO_RUN,--guest testos --vcpus 4 --mem 256M --test smp)
	$(call DEMO_RUN,--guest testos --vcpus 4 --mem 256M --test coherence --seconds 2)

$(CHECKBUILD)/CMakeCache.txt:
	$(CMAKE) -S . -B $(CHECKBUILD) -DCMAKE_BUILD_TYPE=Debug -DRACKVM_SANITIZE=ON

check: deps build guest $(CHECKBUILD)/CMakeCache.txt
	$(CMAKE) --build $(CHECKBUILD) -j $(JOBS)
	$(CMAKE) --build $(CHECKBUILD) -j $(JOBS) --target guest
	cd $(CHECKBUILD) && ctest --output-on-failure -LE long -j 2 --timeout 600

check-long: check
	cd $(CHECKBUILD) && ctest --output-on-failure -L long --timeout 3600

format:
	clang-format -i $$(git ls-files '*.c' '*.h' | grep -v '^guest-images/linux/')

clean:
	rm -rf $(BUILD)
