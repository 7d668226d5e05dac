/* lic.hpp: an optional, header-only C++11 wrapper over lic.h.
 *
 * Every handle is owned by a move-only object that frees it (RAII), every
 * failing status becomes a lic::Error carrying the status and lic's message,
 * and the buffer protocol (ask for the length, then read) is done for you.
 * It adds no symbols to liblic: link lic as for C (lic::lic in CMake).
 *
 *   lic::Client client(lic::Config()
 *                          .account_id("...").public_key("...")
 *                          .license_key("..."));
 *   lic::Result r = client.validate(LIC_VALIDATE_AUTO_ACTIVATE);
 *   if (!r.valid()) ...;
 *   lic::Slot slot = client.acquire_slot("game");   // released when it goes
 *   while (lic::Event ev = client.poll_event()) { ... ev.kind() ... }
 *
 * Threading and lifetimes are lic.h's: a Client may be shared across
 * threads; a Slot must not outlive its Client's library use (freeing the
 * Client releases its slots). */
#ifndef LIC_HPP
#define LIC_HPP

#include "lic.h"

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

namespace lic {

/** A failing lic call: its status and lic's message for it. */
class Error : public std::runtime_error {
 public:
  Error(lic_status status, const std::string &what) : std::runtime_error(what), status_(status) {}
  lic_status status() const noexcept { return status_; }

 private:
  lic_status status_;
};

namespace detail {

inline void check(lic_status status, const char *call) {
  if (status != LIC_STATUS_OK) {
    throw Error(status, std::string(call) + ": " + lic_status_str(status) + " (" + lic_last_error_message() + ")");
  }
}

/* The buffer protocol: a call with no buffer reports the length; NOT_FOUND
 * means "absent" and gives an empty string. */
template <typename Read>
std::string read_string(Read read, const char *call) {
  size_t n = 0;
  lic_status st = read(nullptr, 0, &n);
  if (st == LIC_STATUS_NOT_FOUND) return std::string();
  if (st != LIC_STATUS_BUFFER_TOO_SMALL) check(st, call);
  std::string s(n + 1, '\0');
  check(read(&s[0], s.size(), &n), call);
  s.resize(n);
  return s;
}

/* One deleter for every handle type (overloads, so each lic_*_free is
 * called with whatever constness it declares). */
struct Deleter {
  void operator()(lic_config *p) const noexcept { lic_config_free(p); }
  void operator()(lic_client *p) const noexcept { lic_client_free(p); }
  void operator()(lic_result *p) const noexcept { lic_result_free(p); }
  void operator()(lic_event *p) const noexcept { lic_event_free(p); }
  void operator()(lic_process_slot *p) const noexcept { lic_process_slot_free(p); }
};

template <typename T>
using Owned = std::unique_ptr<T, Deleter>;

}  // namespace detail

/** Settings for a Client (lic_config). Setters chain; NULL-like empty
 * strings are not special: set only what you need. */
class Config {
 public:
  Config() {
    lic_config *c = nullptr;
    detail::check(lic_config_new(&c), "lic_config_new");
    cfg_.reset(c);
  }
  Config &account_id(const std::string &v) { return set(lic_config_set_account_id(get(), v.c_str()), "account_id"); }
  Config &api_url(const std::string &v) { return set(lic_config_set_api_url(get(), v.c_str()), "api_url"); }
  Config &license_key(const std::string &v) { return set(lic_config_set_license_key(get(), v.c_str()), "license_key"); }
  Config &public_key(const std::string &v) { return set(lic_config_set_public_key(get(), v.c_str()), "public_key"); }
  Config &fingerprint(const std::string &v) { return set(lic_config_set_fingerprint(get(), v.c_str()), "fingerprint"); }
  Config &cache_dir(const std::string &v) { return set(lic_config_set_cache_dir(get(), v.c_str()), "cache_dir"); }
  Config &app_id(const std::string &v) { return set(lic_config_set_app_id(get(), v.c_str()), "app_id"); }
  Config &timeout_ms(uint32_t ms) { return set(lic_config_set_timeout_ms(get(), ms), "timeout_ms"); }
  lic_config *get() const noexcept { return cfg_.get(); }

 private:
  Config &set(lic_status st, const char *what) {
    detail::check(st, what);
    return *this;
  }
  detail::Owned<lic_config> cfg_;
};

/** One validation's answer (lic_result). */
class Result {
 public:
  explicit Result(lic_result *r) : r_(r) {}
  lic_code code() const noexcept { return lic_result_code(r_.get()); }
  bool valid() const noexcept { return lic_result_valid(r_.get()) != 0; }
  lic_source source() const noexcept { return lic_result_source(r_.get()); }
  bool verified() const noexcept { return lic_result_verified(r_.get()) != 0; }
  std::string code_text() const {
    return detail::read_string([&](char *b, size_t l, size_t *n) { return lic_result_code_text(r_.get(), b, l, n); },
                               "lic_result_code_text");
  }
  std::string detail() const {
    return detail::read_string([&](char *b, size_t l, size_t *n) { return lic_result_detail(r_.get(), b, l, n); },
                               "lic_result_detail");
  }
  lic_result *get() const noexcept { return r_.get(); }

 private:
  detail::Owned<lic_result> r_;
};

/** An event polled from a Client; false when there was none. */
class Event {
 public:
  Event() = default;
  explicit Event(lic_event *e) : e_(e) {}
  explicit operator bool() const noexcept { return e_ != nullptr; }
  lic_event_kind kind() const noexcept { return lic_event_get_kind(e_.get()); }
  std::string message() const {
    return detail::read_string([&](char *b, size_t l, size_t *n) { return lic_event_message(e_.get(), b, l, n); },
                               "lic_event_message");
  }
  std::string slot_id() const {
    return detail::read_string([&](char *b, size_t l, size_t *n) { return lic_event_slot_id(e_.get(), b, l, n); },
                               "lic_event_slot_id");
  }

 private:
  detail::Owned<lic_event> e_;
};

/** A held process slot; freeing it (going out of scope) releases it. */
class Slot {
 public:
  explicit Slot(lic_process_slot *s) : s_(s) {}
  Slot(Slot &&) = default;
  Slot &operator=(Slot &&) = default;
  ~Slot() {
    if (s_) lic_process_slot_release(s_.get()); /* best effort; the server's window frees it otherwise */
  }
  bool held() const noexcept { return lic_process_slot_is_held(s_.get()) == 1; }
  std::string id() const {
    return detail::read_string([&](char *b, size_t l, size_t *n) { return lic_process_slot_id(s_.get(), b, l, n); },
                               "lic_process_slot_id");
  }
  void release() { detail::check(lic_process_slot_release(s_.get()), "lic_process_slot_release"); }

 private:
  detail::Owned<lic_process_slot> s_;
};

/** A licensing client (lic_client). */
class Client {
 public:
  explicit Client(const Config &cfg) {
    lic_client *c = nullptr;
    detail::check(lic_client_new(cfg.get(), &c), "lic_client_new");
    c_.reset(c);
  }
  Result validate(uint32_t flags = 0) const {
    lic_result *r = nullptr;
    detail::check(lic_validate(c_.get(), flags, &r), "lic_validate");
    return Result(r);
  }
  void activate() const { detail::check(lic_activate(c_.get(), nullptr), "lic_activate"); }
  void deactivate() const { detail::check(lic_deactivate(c_.get(), nullptr), "lic_deactivate"); }
  Slot acquire_slot(const char *name = nullptr) const {
    lic_process_slot *s = nullptr;
    detail::check(lic_process_slot_acquire(c_.get(), name, &s), "lic_process_slot_acquire");
    return Slot(s);
  }
  /** The next queued event, or an empty Event. Call once per frame. */
  Event poll_event() const {
    lic_event *e = nullptr;
    detail::check(lic_client_poll_event(c_.get(), &e), "lic_client_poll_event");
    return Event(e);
  }
  lic_client *get() const noexcept { return c_.get(); }

 private:
  detail::Owned<lic_client> c_;
};

}  // namespace lic

#endif /* LIC_HPP */
