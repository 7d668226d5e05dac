// A game's main loop with lic, through the header-only C++ wrapper lic.hpp:
//
//   * at start: validate (activating this machine when needed) and take a
//     process slot: one seat of the license's concurrent-process limit;
//   * every frame: poll lic's events once, without blocking, and react:
//       SLOT_LOST        the seat is gone (the server dropped it, or its
//                        heartbeats stopped): pause online play while lic
//                        tries to get it back,
//       SLOT_RECOVERED   resume,
//       OFFLINE_ENTERED  the licence now answers from the cached, signed
//                        machine file: keep playing, show "offline",
//       OFFLINE_LEFT     online again;
//   * now and then (not every frame): validate again, which is what notices
//     that the server is unreachable;
//   * at exit: the slot and the client are released by their destructors.
//
// Settings from the environment, as examples/c/node_locked.c takes them:
// LIC_ACCOUNT_ID, LIC_API_URL, LIC_PUBLIC_KEY, LIC_LICENSE_KEY, optionally
// LIC_FINGERPRINT and LIC_CACHE_DIR; GAME_FRAMES (default 600, 10 s at
// 60 fps), GAME_REVALIDATE_MS (default 60000) and GAME_QUIT_FILE (quit at
// the first frame that finds this file, as a player quitting would).
//
// Built and run against lic-devserver by tests/packages.rs through the CMake
// package (lic::lic).
#include "lic.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

namespace {

std::string env(const char *name, const char *fallback = nullptr) {
  const char *v = std::getenv(name);
  return v ? v : (fallback ? fallback : "");
}

lic::Config config_from_env() {
  lic::Config cfg;
  cfg.account_id(env("LIC_ACCOUNT_ID")).public_key(env("LIC_PUBLIC_KEY")).license_key(env("LIC_LICENSE_KEY"));
  if (!env("LIC_API_URL").empty()) cfg.api_url(env("LIC_API_URL"));
  if (!env("LIC_FINGERPRINT").empty()) cfg.fingerprint(env("LIC_FINGERPRINT"));
  if (!env("LIC_CACHE_DIR").empty()) cfg.cache_dir(env("LIC_CACHE_DIR"));
  cfg.timeout_ms(2000);
  return cfg;
}

struct GameState {
  bool online_play = true;  // paused while the seat is lost
  bool offline = false;     // the licence answers from the cached file
  int slot_lost = 0, offline_entered = 0;
};

const char *kind_name(lic_event_kind kind) {
  switch (kind) {
    case LIC_EVENT_KIND_HEARTBEAT_SENT: return "HEARTBEAT_SENT";
    case LIC_EVENT_KIND_HEARTBEAT_FAILED: return "HEARTBEAT_FAILED";
    case LIC_EVENT_KIND_SLOT_LOST: return "SLOT_LOST";
    case LIC_EVENT_KIND_SLOT_RECOVERED: return "SLOT_RECOVERED";
    case LIC_EVENT_KIND_MACHINE_HEARTBEAT_DEAD: return "MACHINE_HEARTBEAT_DEAD";
    case LIC_EVENT_KIND_OFFLINE_ENTERED: return "OFFLINE_ENTERED";
    case LIC_EVENT_KIND_OFFLINE_LEFT: return "OFFLINE_LEFT";
    case LIC_EVENT_KIND_LICENSE_STATE_CHANGED: return "LICENSE_STATE_CHANGED";
    default: return "OTHER";
  }
}

void react(const lic::Event &ev, GameState &game, int frame) {
  switch (ev.kind()) {
    case LIC_EVENT_KIND_HEARTBEAT_SENT:
      return;  // routine: one a heartbeat interval
    case LIC_EVENT_KIND_SLOT_LOST:
      game.online_play = false;
      game.slot_lost++;
      std::printf("frame %d: SLOT_LOST (%s): online play paused\n", frame, ev.message().c_str());
      break;
    case LIC_EVENT_KIND_SLOT_RECOVERED:
      game.online_play = true;
      std::printf("frame %d: SLOT_RECOVERED (slot %s): online play resumed\n", frame, ev.slot_id().c_str());
      break;
    case LIC_EVENT_KIND_OFFLINE_ENTERED:
      game.offline = true;
      game.offline_entered++;
      std::printf("frame %d: OFFLINE_ENTERED (%s): playing offline\n", frame, ev.message().c_str());
      break;
    case LIC_EVENT_KIND_OFFLINE_LEFT:
      game.offline = false;
      std::printf("frame %d: OFFLINE_LEFT: online again\n", frame);
      break;
    default:
      std::printf("frame %d: %s (%s)\n", frame, kind_name(ev.kind()), ev.message().c_str());
      break;
  }
  std::fflush(stdout);
}

}  // namespace

int main() {
  const int frames = std::atoi(env("GAME_FRAMES", "600").c_str());
  const auto revalidate = std::chrono::milliseconds(std::atoi(env("GAME_REVALIDATE_MS", "60000").c_str()));
  const std::string quit_file = env("GAME_QUIT_FILE");
  const auto frame_time = std::chrono::milliseconds(16);
  try {
    lic::Client client(config_from_env());

    lic::Result start = client.validate(LIC_VALIDATE_AUTO_ACTIVATE);
    std::printf("licence: %s (%s)\n", start.code_text().c_str(), start.detail().c_str());
    if (!start.valid()) return 1;

    lic::Slot slot = [&]() {
      try {
        return client.acquire_slot("game");
      } catch (const lic::Error &e) {
        if (e.status() == LIC_STATUS_PROCESS_LIMIT_EXCEEDED)
          std::printf("every seat of this licence is in use: close another copy of the game\n");
        throw;
      }
    }();
    std::printf("slot %s held\n", slot.id().c_str());
    std::fflush(stdout);

    GameState game;
    auto last_check = std::chrono::steady_clock::now();
    int frame = 1;
    for (; frame <= frames; frame++) {
      auto frame_start = std::chrono::steady_clock::now();
      if (!quit_file.empty() && std::ifstream(quit_file).good()) break;
      // Once per frame: drain lic's queue without blocking.
      while (lic::Event ev = client.poll_event()) react(ev, game, frame);

      if (frame_start - last_check >= revalidate) {
        last_check = frame_start;
        try {
          lic::Result r = client.validate();  // online, else the cached machine file
          if (!r.valid()) {
            std::printf("frame %d: licence no longer valid: %s\n", frame, r.code_text().c_str());
            return 1;
          }
        } catch (const lic::Error &e) {
          std::printf("frame %d: cannot confirm the licence: %s\n", frame, e.what());
          return 1;
        }
      }
      // ... update and render the frame here ...
      std::this_thread::sleep_until(frame_start + frame_time);
    }
    std::printf("quit after %d frames: slot lost %d time(s), offline %d time(s), %s\n", frame - 1, game.slot_lost,
                game.offline_entered, game.offline ? "offline at exit" : "online at exit");
  } catch (const lic::Error &e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
