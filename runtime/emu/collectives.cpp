// Warp collectives: lanes deposit a payload in a per-warp record keyed by the mask; the last lane to
// arrive releases the others. A record stays alive until every lane that read it has moved on to its
// next collective (or exited), so results are valid "until the caller's next collective".
#include <cstring>
#include <string>

#include "state.h"

namespace svdq::emu::detail {

static const char* const kSyncwarp = "__syncwarp";

void release_held(WarpState& warp, Fiber& f) {
  ExchangeRecord* r = f.held;
  if (!r) return;
  f.held = nullptr;
  r->holders &= ~(1u << f.lane);
  if (r->holders == 0 && r->complete) {
    for (std::size_t i = 0; i < warp.active.size(); ++i)
      if (warp.active[i] == r) {
        warp.active[i] = warp.active.back();
        warp.active.pop_back();
        break;
      }
    warp.free_list.push_back(r);
  }
}

void complete_collective(Worker& w, WarpState& warp, unsigned warp_index, ExchangeRecord* r, Fiber* self) {
  r->complete = true;
  // Lanes that did not arrive (exited) read zeros.
  for (unsigned lane = 0; lane < 32; ++lane)
    if (!(r->arrived >> lane & 1)) std::memset(r->data() + lane * r->bytes, 0, r->bytes);
  for (unsigned lane = 0; lane < 32; ++lane) {
    if (!(r->arrived >> lane & 1)) continue;
    Fiber& f = w.fibers[warp_index * 32 + lane];
    if (&f != self) {
      f.waiting = nullptr;
      w.push_runnable(&f);
    }
  }
  if (settings().counters) ++w.counters.warp_collectives;
  if ((r->mask | warp.exited) == warp.existing) score_warp(w, warp, warp_index);
  // Only __syncwarp orders memory between lanes (shuffles, votes and MMA do not, CUDA PG §10.22).
  if (r->what == kSyncwarp || std::strcmp(r->what, kSyncwarp) == 0) warp.sync_epoch = ++w.epoch_counter;
}

void excuse_exited_lane(Worker& w, Fiber& f) {
  WarpState& warp = w.warps[f.warp];
  const unsigned bit = 1u << f.lane;
  warp.exited |= bit;
  // Collectives waiting for this lane are excused from it (PTX: exited lanes do not participate).
  for (std::size_t i = 0; i < warp.active.size(); ++i) {
    ExchangeRecord* r = warp.active[i];
    if (r->complete || !(r->need & bit)) continue;
    r->need &= ~bit;
    if (r->arrived != 0 && (r->arrived & r->need) == r->need) complete_collective(w, warp, f.warp, r, nullptr);
  }
}

const void* warp_exchange_raw(unsigned mask, const void* mine, std::size_t bytes, std::size_t align, const char* what) {
  Fiber* f = tl_fiber;
  if (!f) {
    std::fprintf(stderr, "svdq-emu: warp collective '%s' called outside a kernel\n", what);
    std::abort();
  }
  (void)align;  // storage is max_align_t-aligned and slots are whole payloads
  Worker& w = *f->worker;
  WarpState& warp = w.warps[f->warp];
  release_held(warp, *f);
  const unsigned bit = 1u << f->lane;
  if (!(mask & bit)) {
    char m[16];
    std::snprintf(m, sizeof m, "0x%08x", mask);
    raise(ReportKind::CollectiveMisuse, 0, 0, what,
          std::string("lane ") + std::to_string(f->lane) + " calls '" + what + "' with mask " + m + " that excludes it");
  }
  const unsigned eff = mask & warp.existing;
  ExchangeRecord* r = nullptr;
  for (ExchangeRecord* c : warp.active)
    if (!c->complete && c->mask == eff && !(c->arrived & bit)) {
      r = c;
      break;
    }
  if (!r) {
    if (warp.free_list.empty()) {
      warp.pool.push_back(std::make_unique<ExchangeRecord>());
      warp.free_list.push_back(warp.pool.back().get());
    }
    r = warp.free_list.back();
    warp.free_list.pop_back();
    r->mask = eff;
    r->need = eff & ~warp.exited;
    r->arrived = r->holders = 0;
    r->complete = false;
    r->what = what;
    r->bytes = bytes;
    const std::size_t words = (32 * bytes + sizeof(std::max_align_t) - 1) / sizeof(std::max_align_t);
    if (r->storage.size() < words) r->storage.resize(words);
    warp.active.push_back(r);
  } else if (r->bytes != bytes || (r->what != what && std::strcmp(r->what, what) != 0)) {
    raise(ReportKind::CollectiveMisuse, 0, 0, what,
          std::string("lane ") + std::to_string(f->lane) + " calls '" + what + "' (" + std::to_string(bytes) +
              " bytes) while other lanes of its warp wait in '" + r->what + "' (" + std::to_string(r->bytes) + " bytes)");
  }
  std::memcpy(r->data() + f->lane * bytes, mine, bytes);
  r->arrived |= bit;
  r->holders |= bit;
  f->held = r;
  if ((r->arrived & r->need) == r->need) {
    complete_collective(w, warp, f->warp, r, f);
  } else {
    f->state = FiberState::InCollective;
    f->waiting = r;
    yield_to_scheduler(*f);
  }
  return r->data();
}


}  // namespace svdq::emu::detail

namespace svdq::emu {
using namespace detail;

unsigned live_lanes() {
  Fiber* f = tl_fiber;
  if (!f) return 1u;
  const WarpState& warp = f->worker->warps[f->warp];
  return warp.existing & ~warp.exited;
}

void syncwarp(unsigned mask) {
  struct Empty {
    char c;
  };
  warp_exchange(mask, Empty{0}, kSyncwarp);
}

}  // namespace svdq::emu
