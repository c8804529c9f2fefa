// The transport (cluster/transport.hpp) over Boost.Asio: one io_context thread does every socket
// operation, timer and frame decode. Objects and who touches them:
//   Impl       the listening socket, the current generation (GenState), stats. `mu_` guards the
//              generation pointer and the handlers (controlling thread, io thread).
//   GenState   one generation: its peers, its links (out[j]: this worker -> j, carries data,
//              barriers, end and control to j, and credits/heartbeats back; in[j]: j -> this
//              worker, the same the other way), the receive side of every remote channel
//              (inbox, fields, credits, frames that arrived before the engine registered the
//              channel). `mu` guards in[], the receive side and the mesh/failure state.
//   Link       one TCP connection. Its `mu` guards what senders on task fibers share with the io
//              thread: the output buffer, the send credits, `closed`. Task fibers park on its
//              credit_cv (a Boost.Fiber condition variable over the std::mutex: it suspends the
//              fiber, and the io thread's notify crosses threads). Everything else in a Link is
//              io-thread only.
// Lock order: Impl::mu_ -> GenState::mu -> Link::mu; the Inbox's own lock is taken under
// GenState::mu (push, io thread) and never held while GenState::mu is taken (the pop listener
// runs outside it).
//
// Lifetime: a GenState stays alive (its sockets closed) for a few generations after it ended, so
// an engine of generation g that still pops or sends after end_generation finds `ended` /
// `closed` and does nothing; the engine of g must be destroyed before the Transport (its
// inboxes hold pop listeners owned by GenState), and in practice before the next generation
// starts. Senders may outlive the Transport: they only see `closed`.
#include "cluster/transport.hpp"

#include <boost/asio.hpp>
#include <boost/fiber/condition_variable.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "cluster/frame_codec.hpp"
#include "cluster/transport_credits.hpp"
#include "runtime/inbox.hpp"

namespace sleet::cluster {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// A write is issued at once when this much is buffered (else at the flush timer, or at once for
// barriers, end and control).
constexpr size_t kWriteNowBytes = 64 * 1024;
constexpr size_t kReadChunk = 64 * 1024;
constexpr std::chrono::milliseconds kRetryMin{10}, kRetryMax{200};
constexpr size_t kKeptGenerations = 4;

long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

}  // namespace

struct GenState;

struct Link : std::enable_shared_from_this<Link> {
  Link(Transport::Impl& impl, asio::io_context& io, bool outgoing, int peer)
      : impl(impl),
        outgoing(outgoing),
        peer(peer),
        socket(std::make_unique<tcp::socket>(io)),
        flush_timer(std::make_unique<asio::steady_timer>(io)),
        aux_timer(std::make_unique<asio::steady_timer>(io)) {}

  Transport::Impl& impl;
  const bool outgoing;
  int peer;                       // peer index (incoming: -1 until the hello is accepted)
  std::shared_ptr<GenState> gen;  // incoming: null until the hello is accepted

  // io thread only. The asio objects are reset by close() so no Link outlives its io_context
  // with live ones.
  std::unique_ptr<tcp::socket> socket;
  std::unique_ptr<asio::steady_timer> flush_timer;
  std::unique_ptr<asio::steady_timer> aux_timer;  // connect retry / hello deadline
  FrameDecoder decoder;
  std::string writing;
  bool write_in_flight = false;
  bool io_closed = false;
  bool established_io = false;  // io thread's copy of `established`
  // Outgoing: bumped by each reconnect, so completions of a closed socket's operations (which
  // still arrive, as operation_aborted) are recognised and ignored.
  uint64_t attempt = 0;
  Clock::time_point last_heard = Clock::now(), last_write = Clock::now();
  std::chrono::milliseconds retry_delay = kRetryMin;

  // Under mu (task fibers, any thread, io thread).
  std::mutex mu;
  boost::fibers::condition_variable_any credit_cv;
  std::string out;
  bool established = false;
  bool closed = false;
  bool write_posted = false;
  bool timer_armed = false;
  int parked = 0;  // senders waiting on credit_cv (the io thread notifies only if any)
  std::unordered_map<uint32_t, SendCredits> credits;  // outgoing: per channel sent on
};

// A receiving remote channel.
struct RecvChannel {
  explicit RecvChannel(size_t credits) : credits(credits) {}
  int from = -1;
  bool registered = false;
  Inbox* inbox = nullptr;
  size_t input = 0;
  const Fields* fields = nullptr;
  const TupleSource* source = nullptr;  // the upstream task and stream of this channel
  ReceiveCredits credits;
  bool dirty = false;  // credits pending, listed in GenState::dirty[from]
  std::unique_ptr<PopListener> listener;
  // Frames that arrived before receiver() (type, payload): at most `credits` of them.
  std::deque<std::pair<FrameType, std::string>> backlog;
};

struct GenState {
  GenState(Transport::Impl& impl, Generation gen, int self, std::vector<Peer> peers)
      : impl(impl), gen(gen), self(self), peers(std::move(peers)) {}
  Transport::Impl& impl;
  const Generation gen;
  const int self;
  const std::vector<Peer> peers;
  std::vector<std::shared_ptr<Link>> out;  // by peer, fixed once begin_generation returns
  std::function<void(int, ControlMessage&&)> on_control;
  std::function<void(const Status&)> on_failure;
  std::unique_ptr<asio::steady_timer> heartbeat_timer;  // io thread

  std::mutex mu;
  std::condition_variable mesh_cv;
  bool ended = false;
  bool failed = false;
  Status failure;
  std::vector<bool> out_ready;               // by peer: handshake accepted
  std::vector<std::string> out_error;        // by peer: why not (yet) connected
  std::vector<std::shared_ptr<Link>> in;     // by peer: accepted connection from it
  std::map<uint32_t, RecvChannel> recv;      // by plan channel index
  std::vector<std::vector<uint32_t>> dirty;  // by peer: channels with credits to return

  std::string describe(int j) const {
    const Peer& p = peers[static_cast<size_t>(j)];
    return "worker " + p.id + " (index " + std::to_string(j) + ", " + p.host + ":" +
           std::to_string(p.port) + ")";
  }
  bool mesh_complete_locked() const {
    for (size_t j = 0; j < peers.size(); ++j)
      if (static_cast<int>(j) != self && (!out_ready[j] || !in[j])) return false;
    return true;
  }
  void on_pop(uint32_t channel);
  // Breaks the GenState <-> Link cycles (after every socket is closed).
  void release() {
    std::lock_guard lk(mu);
    for (auto& l : in) l.reset();
    for (auto& l : out) l.reset();
  }
};

struct CreditListener final : PopListener {
  CreditListener(GenState& g, uint32_t channel) : g(g), channel(channel) {}
  void on_pop(size_t) override { g.on_pop(channel); }
  GenState& g;
  uint32_t channel;
};

class Transport::Impl {
 public:
  explicit Impl(TransportOptions options)
      : opt(std::move(options)), work(asio::make_work_guard(io)), acceptor(io) {}

  ~Impl() {
    end_generation();
    asio::post(io, [this] {
      boost::system::error_code ec;
      acceptor.close(ec);
      for (auto& l : pending) close_link(*l);
      pending.clear();
    });
    work.reset();
    io.stop();
    if (thread.joinable()) thread.join();
    // The io thread is gone: close what is left from here (nothing runs concurrently).
    for (auto& l : pending) close_link(*l);
    pending.clear();
    std::vector<std::shared_ptr<GenState>> all(ended_.begin(), ended_.end());
    if (gen_) all.push_back(gen_);
    for (auto& g : all) {
      std::vector<std::shared_ptr<Link>> links(g->out.begin(), g->out.end());
      {
        std::lock_guard lk(g->mu);
        links.insert(links.end(), g->in.begin(), g->in.end());
      }
      for (auto& l : links) {
        if (!l) continue;
        close_link(*l);
        // A sender may outlive this Transport: it keeps the Link, never its asio objects.
        l->socket.reset();
        l->flush_timer.reset();
        l->aux_timer.reset();
      }
      g->release();
      g->heartbeat_timer.reset();
    }
  }

  Status start() {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(opt.listen_host, ec);
    if (ec)
      return Status::Invalid("transport listen address '" + opt.listen_host +
                             "' is not a numeric IP address: " + ec.message());
    tcp::endpoint ep(addr, opt.listen_port);
    acceptor.open(ep.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(ep, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return Status::Unavailable("cannot listen on " + opt.listen_host + ":" +
                                 std::to_string(opt.listen_port) + ": " + ec.message() +
                                 " (another worker on that address? choose --advertise)");
    port = acceptor.local_endpoint().port();
    accept();
    thread = std::thread([this] { io.run(); });
    return Status::Ok();
  }

  // ---- generations (controlling thread) ----

  Status begin_generation(Generation gen, int self, std::vector<Peer> peers) {
    if (self < 0 || static_cast<size_t>(self) >= peers.size())
      return Status::Invalid("transport: self index " + std::to_string(self) + " not among " +
                             std::to_string(peers.size()) + " peers");
    for (size_t j = 0; j < peers.size(); ++j) {
      if (peers[j].index != static_cast<int>(j))
        return Status::Invalid("transport: peer " + peers[j].id + " has index " +
                               std::to_string(peers[j].index) + " at position " +
                               std::to_string(j) + " (peers must be in index order)");
      boost::system::error_code ec;
      if (static_cast<int>(j) != self) asio::ip::make_address(peers[j].host, ec);
      if (ec)
        return Status::Invalid("transport: worker " + peers[j].id + " advertises host '" +
                               peers[j].host + "', not a numeric IP address");
    }
    if (!opt.self_id.empty() && peers[static_cast<size_t>(self)].id != opt.self_id)
      return Status::Invalid("transport: this worker is " + opt.self_id + ", but peer " +
                             std::to_string(self) + " of the generation is " +
                             peers[static_cast<size_t>(self)].id);
    end_generation();
    auto g = std::make_shared<GenState>(*this, gen, self, std::move(peers));
    size_t n = g->peers.size();
    g->out.resize(n);
    g->out_ready.assign(n, false);
    g->out_error.assign(n, "not connected yet");
    g->in.resize(n);
    g->dirty.resize(n);
    g->heartbeat_timer = std::make_unique<asio::steady_timer>(io);
    for (size_t j = 0; j < n; ++j) {
      if (static_cast<int>(j) == self) continue;
      auto l = std::make_shared<Link>(*this, io, true, static_cast<int>(j));
      l->gen = g;
      g->out[j] = l;
    }
    std::shared_ptr<GenState> old;
    {
      std::lock_guard lk(mu_);
      g->on_control = control_handler_;
      g->on_failure = failure_handler_;
      if (ended_.size() > kKeptGenerations) {
        old = std::move(ended_.front());
        ended_.pop_front();
      }
      gen_ = g;
    }
    // Generations long ended (their engines are gone, see the file comment): drop their state.
    run_on_io([&] {
      if (old) old->release();
      for (auto& l : g->out)
        if (l) connect(l);
      heartbeat_tick(g);
    });
    return Status::Ok();
  }

  Status await_mesh(Clock::time_point until) {
    std::shared_ptr<GenState> g = current();
    if (!g) return Status::Invalid("transport: await_mesh without a generation");
    std::unique_lock lk(g->mu);
    g->mesh_cv.wait_until(lk, until,
                          [&] { return g->ended || g->failed || g->mesh_complete_locked(); });
    if (g->failed) return g->failure;
    if (g->ended) return Status(Code::cancelled, "transport: generation ended while connecting");
    if (g->mesh_complete_locked()) return Status::Ok();
    std::string missing;
    for (size_t j = 0; j < g->peers.size(); ++j) {
      if (static_cast<int>(j) == g->self) continue;
      if (!g->out_ready[j])
        missing +=
            "; no connection to " + g->describe(static_cast<int>(j)) + ": " + g->out_error[j];
      if (!g->in[j]) missing += "; no connection from " + g->describe(static_cast<int>(j));
    }
    return Status::Timeout("transport: the mesh of generation " + std::to_string(g->gen.value) +
                           " is not complete" + missing);
  }

  void end_generation() {
    std::shared_ptr<GenState> g;
    {
      std::lock_guard lk(mu_);
      g = std::move(gen_);
      if (g) ended_.push_back(g);
    }
    if (!g) return;
    std::vector<std::shared_ptr<Link>> links;
    {
      std::lock_guard lk(g->mu);
      g->ended = true;
      for (auto& [index, ch] : g->recv) {
        ch.inbox = nullptr;  // nothing is pushed any more
        ch.backlog.clear();
      }
      for (auto& l : g->in)
        if (l) links.push_back(l);
    }
    g->mesh_cv.notify_all();
    for (auto& l : g->out)
      if (l) links.push_back(l);
    for (auto& l : links) mark_closed(*l);
    run_on_io([&] {
      if (g->heartbeat_timer) g->heartbeat_timer->cancel();
      for (auto& l : links) close_link(*l);
    });
  }

  std::shared_ptr<GenState> current() {
    std::lock_guard lk(mu_);
    return gen_;
  }

  // Runs `f` on the io thread and waits for it (inline when already there, or when the io
  // thread has stopped).
  template <class F>
  void run_on_io(F&& f) {
    if (io.get_executor().running_in_this_thread() || io.stopped() || !thread.joinable()) {
      f();
      return;
    }
    std::promise<void> done;
    asio::post(io, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

  // ---- links (io thread unless said otherwise) ----

  // Any thread: senders see closed and return false; parked ones wake.
  void mark_closed(Link& l) {
    {
      std::lock_guard lk(l.mu);
      l.closed = true;
      l.out.clear();
      l.out.shrink_to_fit();
    }
    l.credit_cv.notify_all();
  }

  void close_link(Link& l) {
    mark_closed(l);
    l.io_closed = true;
    boost::system::error_code ec;
    if (l.socket) {
      l.socket->shutdown(tcp::socket::shutdown_both, ec);
      l.socket->close(ec);
    }
    if (l.flush_timer) l.flush_timer->cancel();
    if (l.aux_timer) l.aux_timer->cancel();
    l.writing.clear();
    l.writing.shrink_to_fit();
  }

  // The first failure of a generation is reported (once); the link is closed either way.
  void fail(Link& l, Status st) {
    close_link(l);
    std::shared_ptr<GenState> g = l.gen;
    if (!g) return;
    std::function<void(const Status&)> handler;
    {
      std::lock_guard lk(g->mu);
      if (g->ended || g->failed) return;
      g->failed = true;
      g->failure = st;
      handler = g->on_failure;
    }
    g->mesh_cv.notify_all();
    if (handler) handler(st);
  }

  void connect(const std::shared_ptr<Link>& l) {
    GenState& g = *l->gen;
    const Peer& p = g.peers[static_cast<size_t>(l->peer)];
    tcp::endpoint ep(asio::ip::make_address(p.host), p.port);
    // From this worker's own address, not whatever the route picks (127.0.0.1 on loopback): a
    // peer, a firewall rule or a test cutting one link tells workers apart by source address.
    boost::system::error_code bec;
    auto local = asio::ip::make_address(opt.listen_host, bec);
    if (!bec && !local.is_unspecified()) {
      l->socket->open(ep.protocol(), bec);
      if (!bec) l->socket->bind(tcp::endpoint(local, 0), bec);
      if (bec) return retry(l, "binding to " + opt.listen_host + ": " + bec.message());
    }
    l->socket->async_connect(ep, [this, l, a = l->attempt](const boost::system::error_code& ec) {
      if (l->io_closed || a != l->attempt) return;
      if (ec) return retry(l, "connect: " + ec.message());
      boost::system::error_code ignored;
      l->socket->set_option(tcp::no_delay(true), ignored);
      GenState& g = *l->gen;
      Hello h;
      h.topology = opt.topology;
      h.generation = g.gen;
      h.worker_id = g.peers[static_cast<size_t>(g.self)].id;
      h.worker_index = g.self;
      l->writing.clear();
      encode_hello(l->writing, h);
      l->write_in_flight = true;
      l->last_heard = Clock::now();
      write(l);
      read(l);
    });
  }

  // A connection attempt that may succeed later (the peer is not listening yet, or has not
  // begun this generation): try again, backing off, until the generation ends.
  void retry(const std::shared_ptr<Link>& l, std::string why) {
    {
      std::lock_guard lk(l->gen->mu);
      l->gen->out_error[static_cast<size_t>(l->peer)] = why;
    }
    ++l->attempt;
    boost::system::error_code ec;
    l->socket->close(ec);
    l->socket = std::make_unique<tcp::socket>(io);
    l->decoder = FrameDecoder();
    l->write_in_flight = false;
    l->aux_timer->expires_after(l->retry_delay);
    l->retry_delay = std::min(l->retry_delay * 2, kRetryMax);
    l->aux_timer->async_wait([this, l](const boost::system::error_code& ec) {
      if (ec || l->io_closed) return;
      connect(l);
    });
  }

  void accept() {
    acceptor.async_accept([this](const boost::system::error_code& ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) {
        auto l = std::make_shared<Link>(*this, io, false, -1);
        boost::system::error_code ignored;
        s.set_option(tcp::no_delay(true), ignored);
        *l->socket = std::move(s);
        pending.insert(l);
        // A connection that says nothing is dropped after the heartbeat timeout.
        l->aux_timer->expires_after(opt.heartbeat_timeout);
        l->aux_timer->async_wait([this, l](const boost::system::error_code& ec) {
          if (ec || l->gen || l->io_closed) return;
          refused.fetch_add(1, std::memory_order_relaxed);
          close_link(*l);
          pending.erase(l);
        });
        read(l);
      }
      accept();
    });
  }

  void read(const std::shared_ptr<Link>& l) {
    auto buf = l->decoder.prepare(kReadChunk);
    l->socket->async_read_some(
        asio::buffer(buf.data(), buf.size()),
        [this, l, a = l->attempt](const boost::system::error_code& ec, size_t n) {
          if (a == l->attempt) on_read(l, ec, n);
        });
  }

  // Writes l->writing (write_in_flight set by the caller).
  void write(const std::shared_ptr<Link>& l) {
    asio::async_write(*l->socket, asio::buffer(l->writing),
                      [this, l, a = l->attempt](const boost::system::error_code& ec, size_t n) {
                        if (a == l->attempt) on_written(l, ec, n);
                      });
  }

  void on_read(const std::shared_ptr<Link>& l, const boost::system::error_code& ec, size_t n) {
    l->decoder.commit(n);
    if (l->io_closed) return;
    if (ec) return lost(l, ec == asio::error::eof ? "closed the connection" : ec.message());
    bytes_received.fetch_add(n, std::memory_order_relaxed);
    l->last_heard = Clock::now();
    while (true) {
      auto next = l->decoder.next();
      if (!next.ok()) {
        if (!l->gen) {  // not a Sleet peer, or a broken one: refused before any handshake
          refused.fetch_add(1, std::memory_order_relaxed);
          close_link(*l);
          pending.erase(l);
          return;
        }
        return fail(*l, peer_error(*l, next.status()));
      }
      if (!*next) break;
      frames_received.fetch_add(1, std::memory_order_relaxed);
      if (!on_frame(l, **next)) return;  // the link closed (or was handed over)
      if (l->io_closed) return;
    }
    read(l);
  }

  void lost(const std::shared_ptr<Link>& l, const std::string& why) {
    if (l->outgoing) {
      bool established;
      {
        std::lock_guard lk(l->mu);
        established = l->established;
      }
      // Before its handshake reply the acceptor may just have been between generations.
      if (!established) return retry(l, "connection closed before the handshake reply: " + why);
    }
    if (!l->gen) {  // an incoming connection that never handshook
      close_link(*l);
      pending.erase(l);
      return;
    }
    fail(*l, Status::Unavailable("transport: the connection " +
                                 std::string(l->outgoing ? "to " : "from ") +
                                 l->gen->describe(l->peer) + " was lost: " + why));
  }

  Status peer_error(const Link& l, const Status& st) {
    std::string who = l.gen ? l.gen->describe(l.peer) : std::string("an unidentified peer");
    return st.with_context(std::string("transport: from ") + who);
  }

  // False: stop reading this link.
  bool on_frame(const std::shared_ptr<Link>& l, const FrameView& v) {
    if (!l->gen) return on_hello(l, v);
    GenState& g = *l->gen;
    if (l->outgoing && !l->established_io) return on_hello_reply(l, v);
    switch (v.type) {
      case FrameType::data:
      case FrameType::data_ts:
      case FrameType::barrier:
      case FrameType::end:
      case FrameType::watermark:
        if (l->outgoing) break;
        return on_channel_frame(l, v);
      case FrameType::credit:
      case FrameType::heartbeat:
      case FrameType::control: {
        if (v.type == FrameType::credit && !l->outgoing) break;
        if (v.type == FrameType::control && l->outgoing) break;
        auto f = decode_frame(v);
        if (!f.ok()) {
          fail(*l, peer_error(*l, f.status()));
          return false;
        }
        if (frame_generation(*f) != g.gen) return refuse_frame(l, frame_generation(*f));
        if (auto* c = std::get_if<CreditFrame>(&*f)) return on_credit(l, *c);
        if (auto* c = std::get_if<ControlFrame>(&*f)) {
          if (g.on_control) g.on_control(l->peer, std::move(c->message));
        }
        return true;
      }
      default:
        break;
    }
    fail(*l, Status::Corruption("transport: " + g.describe(l->peer) + " sent an unexpected " +
                                frame_type_name(v.type) + " frame on a connection " +
                                (l->outgoing ? "to" : "from") + " it"));
    return false;
  }

  bool refuse_frame(const std::shared_ptr<Link>& l, Generation got) {
    refused.fetch_add(1, std::memory_order_relaxed);
    fail(*l, Status::Corruption("transport: " + l->gen->describe(l->peer) +
                                " sent a frame of generation " + std::to_string(got.value) +
                                " on a connection of generation " +
                                std::to_string(l->gen->gen.value) + " (refused)"));
    return false;
  }

  bool on_credit(const std::shared_ptr<Link>& l, const CreditFrame& c) {
    Status st;
    bool parked = false;
    {
      std::lock_guard lk(l->mu);
      parked = l->parked > 0;
      auto it = l->credits.find(c.channel);
      if (it == l->credits.end())
        st = Status::Corruption("credit for channel " + std::to_string(c.channel) +
                                ", which this worker does not send on");
      else
        st = it->second.grant(c.n);
    }
    if (!st.ok()) {
      fail(*l, peer_error(*l, st));
      return false;
    }
    if (parked) l->credit_cv.notify_all();
    return true;
  }

  bool on_channel_frame(const std::shared_ptr<Link>& l, const FrameView& v) {
    GenState& g = *l->gen;
    Generation fg;
    uint32_t channel = 0;
    Status st = peek_channel(v, fg, channel);
    if (!st.ok()) {
      fail(*l, peer_error(*l, st));
      return false;
    }
    if (fg != g.gen) return refuse_frame(l, fg);
    ChannelBinding binding;
    {
      std::lock_guard lk(g.mu);
      if (g.ended) return false;
      auto [it, fresh] = g.recv.try_emplace(channel, opt.credits);
      RecvChannel& ch = it->second;
      if (fresh) ch.from = l->peer;
      if (ch.from != l->peer)
        st = Status::Corruption("a message on channel " + std::to_string(channel) +
                                ", which the plan has come from worker index " +
                                std::to_string(ch.from));
      if (st.ok()) st = ch.credits.received();
      if (st.ok() && !ch.registered) {
        ch.backlog.emplace_back(v.type, std::string(v.payload));
        return true;
      }
      binding = ChannelBinding{ch.fields, ch.source};
    }
    if (!st.ok()) {
      fail(*l, peer_error(*l, st));
      return false;
    }
    Message m;
    m.tuples = std::move(rx_spare);
    FieldsResolver resolve = [binding](uint32_t) { return binding; };
    st = decode_message(v, &resolve, fg, channel, m);
    if (!st.ok()) {
      fail(*l, peer_error(*l, st));
      return false;
    }
    tuples_received.fetch_add(m.tuples.size(), std::memory_order_relaxed);
    std::lock_guard lk(g.mu);
    auto& ch = g.recv.at(channel);
    // Never blocks: the sender had a credit for it, so the FIFO has room.
    if (!g.ended && ch.inbox) (void)ch.inbox->push(ch.input, std::move(m), &rx_spare);
    return true;
  }

  // An incoming connection's first frame.
  bool on_hello(const std::shared_ptr<Link>& l, const FrameView& v) {
    auto f = v.type == FrameType::hello
                 ? decode_frame(v)
                 : Result<Frame>(Status::Corruption(std::string("the first frame is a ") +
                                                    frame_type_name(v.type) + ", not a hello"));
    HelloReply reply;
    std::shared_ptr<GenState> g = current();
    if (g) {
      reply.generation = g->gen;
      reply.worker_id = g->peers[static_cast<size_t>(g->self)].id;
    }
    if (!f.ok()) {
      refused.fetch_add(1, std::memory_order_relaxed);
      close_link(*l);
      pending.erase(l);
      return false;
    }
    const Hello& h = std::get<Hello>(*f);
    std::string who = "worker " + h.worker_id + " (index " + std::to_string(h.worker_index) + ")";
    auto refuse = [&](HelloResult r, std::string reason) {
      refused.fetch_add(1, std::memory_order_relaxed);
      reply.result = r;
      reply.reason = std::move(reason);
      l->writing.clear();
      encode_hello_reply(l->writing, reply);
      // Reply, then close: nothing more is read from it, so nothing is delivered.
      asio::async_write(*l->socket, asio::buffer(l->writing),
                        [this, l](const boost::system::error_code&, size_t) {
                          close_link(*l);
                          pending.erase(l);
                        });
      return false;
    };
    if (h.version != kProtocolVersion)
      return refuse(HelloResult::bad_version, who + " speaks transport protocol version " +
                                                  std::to_string(h.version) + ", this worker " +
                                                  std::to_string(kProtocolVersion) +
                                                  ": run the same Sleet build on every worker");
    if (h.topology != opt.topology)
      return refuse(HelloResult::wrong_topology, who + " runs topology '" + h.topology +
                                                     "', this worker '" + opt.topology + "'");
    std::unique_lock lk(g ? g->mu : no_gen_mu);
    if (!g || g->ended)
      return refuse(HelloResult::no_generation, who + " asked for generation " +
                                                    std::to_string(h.generation.value) +
                                                    "; this worker is between generations");
    if (h.generation < g->gen)
      return refuse(HelloResult::older_generation,
                    who + " asked for generation " + std::to_string(h.generation.value) +
                        "; this worker is at generation " + std::to_string(g->gen.value));
    if (h.generation > g->gen)
      return refuse(HelloResult::newer_generation,
                    who + " asked for generation " + std::to_string(h.generation.value) +
                        "; this worker is still at generation " + std::to_string(g->gen.value));
    if (h.worker_index < 0 || static_cast<size_t>(h.worker_index) >= g->peers.size() ||
        h.worker_index == g->self ||
        g->peers[static_cast<size_t>(h.worker_index)].id != h.worker_id)
      return refuse(HelloResult::unknown_worker,
                    who + " is not a peer of generation " + std::to_string(g->gen.value));
    if (g->in[static_cast<size_t>(h.worker_index)])
      return refuse(HelloResult::duplicate,
                    who + " is connected already in generation " + std::to_string(g->gen.value));
    l->gen = g;
    l->peer = h.worker_index;
    l->last_heard = Clock::now();
    g->in[static_cast<size_t>(h.worker_index)] = l;
    lk.unlock();
    pending.erase(l);
    l->aux_timer->cancel();
    {
      std::lock_guard llk(l->mu);
      std::string r;
      encode_hello_reply(r, reply);
      l->out.insert(0, r);
      l->established = true;
    }
    l->established_io = true;
    g->mesh_cv.notify_all();
    do_write(l);
    return true;
  }

  bool on_hello_reply(const std::shared_ptr<Link>& l, const FrameView& v) {
    GenState& g = *l->gen;
    auto f = v.type == FrameType::hello_reply
                 ? decode_frame(v)
                 : Result<Frame>(Status::Corruption(std::string("a ") + frame_type_name(v.type) +
                                                    " frame before the handshake reply"));
    if (!f.ok()) {
      fail(*l, peer_error(*l, f.status()));
      return false;
    }
    const HelloReply& r = std::get<HelloReply>(*f);
    const Peer& p = g.peers[static_cast<size_t>(l->peer)];
    if (r.result == HelloResult::ok) {
      if (r.worker_id != p.id || r.generation != g.gen) {
        fail(*l, Status::Unavailable("transport: " + g.describe(l->peer) + " answered as worker " +
                                     r.worker_id + " of generation " +
                                     std::to_string(r.generation.value)));
        return false;
      }
      {
        std::lock_guard glk(g.mu);
        g.out_ready[static_cast<size_t>(l->peer)] = true;
        g.out_error[static_cast<size_t>(l->peer)].clear();
      }
      {
        std::lock_guard llk(l->mu);
        l->established = true;
      }
      l->established_io = true;
      l->last_heard = Clock::now();
      g.mesh_cv.notify_all();
      do_write(l);
      return true;
    }
    std::string why = g.describe(l->peer) + " refused the handshake (" +
                      hello_result_name(r.result) + "): " + r.reason;
    switch (r.result) {
      case HelloResult::newer_generation:
      case HelloResult::no_generation:
        // It has not begun this generation yet: it will.
        retry(l, why);
        return false;
      case HelloResult::older_generation:
        fail(*l, Status::Fenced("transport: " + why +
                                "; a newer generation exists, this worker must roll back"));
        return false;
      default:
        fail(*l, Status::Incompatible("transport: " + why));
        return false;
    }
  }

  // ---- writing (io thread) ----

  void do_write(const std::shared_ptr<Link>& l) {
    if (l->write_in_flight || l->io_closed) return;
    std::string credits;
    if (!l->outgoing && l->gen) {
      GenState& g = *l->gen;
      std::lock_guard lk(g.mu);
      auto& dirty = g.dirty[static_cast<size_t>(l->peer)];
      for (uint32_t c : dirty) {
        RecvChannel& ch = g.recv.at(c);
        ch.dirty = false;
        if (uint32_t n = ch.credits.take()) {
          encode_credit(credits, g.gen, c, n);
          frames_sent.fetch_add(1, std::memory_order_relaxed);
        }
      }
      dirty.clear();
    }
    {
      std::lock_guard lk(l->mu);
      l->write_posted = false;
      if (l->closed || !l->established) return;
      if (l->out.empty() && credits.empty()) return;
      l->writing.clear();
      l->writing.swap(l->out);
    }
    l->writing.append(credits);
    l->write_in_flight = true;
    l->last_write = Clock::now();
    write(l);
  }

  void on_written(const std::shared_ptr<Link>& l, const boost::system::error_code& ec, size_t n) {
    l->write_in_flight = false;
    if (l->io_closed) return;
    bytes_sent.fetch_add(n, std::memory_order_relaxed);
    if (ec) return lost(l, "write: " + ec.message());
    // Whatever queued up during the write goes now, in one write.
    do_write(l);
  }

  void arm_flush_timer(const std::shared_ptr<Link>& l) {
    if (l->io_closed) return;
    l->flush_timer->expires_after(opt.flush);
    l->flush_timer->async_wait([this, l](const boost::system::error_code& ec) {
      {
        std::lock_guard lk(l->mu);
        l->timer_armed = false;
      }
      if (!ec) do_write(l);
    });
  }

  // Any thread, l->mu held.
  void want_write_locked(const std::shared_ptr<Link>& l, bool now) {
    if (l->closed || l->write_posted) return;
    if (now) {
      l->write_posted = true;
      asio::post(io, [this, l] { do_write(l); });
    } else if (!l->timer_armed) {
      l->timer_armed = true;
      asio::post(io, [this, l] { arm_flush_timer(l); });
    }
  }

  void heartbeat_tick(const std::shared_ptr<GenState>& g) {
    std::vector<std::shared_ptr<Link>> links;
    {
      std::lock_guard lk(g->mu);
      if (g->ended) return;
      for (auto& l : g->in)
        if (l) links.push_back(l);
    }
    for (auto& l : g->out)
      if (l && l->established_io) links.push_back(l);
    for (auto& l : links) {
      if (l->io_closed) continue;
      if (Clock::now() - l->last_heard > opt.heartbeat_timeout) {
        fail(*l, Status::Unavailable(
                     "transport: nothing heard from " + g->describe(l->peer) + " for " +
                     std::to_string(ms_since(l->last_heard)) + " ms (heartbeat timeout " +
                     std::to_string(opt.heartbeat_timeout.count()) + " ms) on the connection " +
                     (l->outgoing ? "to" : "from") + " it"));
        continue;
      }
      if (Clock::now() - l->last_write >= opt.heartbeat) {
        {
          std::lock_guard lk(l->mu);
          if (l->closed) continue;
          encode_heartbeat(l->out, g->gen);
        }
        frames_sent.fetch_add(1, std::memory_order_relaxed);
        do_write(l);
      }
    }
    g->heartbeat_timer->expires_after(opt.heartbeat);
    g->heartbeat_timer->async_wait([this, g](const boost::system::error_code& ec) {
      if (!ec) heartbeat_tick(g);
    });
  }

  TransportOptions opt;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  tcp::acceptor acceptor;
  std::thread thread;
  uint16_t port = 0;
  std::set<std::shared_ptr<Link>> pending;  // io thread: accepted, no hello yet
  std::vector<Tuple> rx_spare;              // io thread: recycled batch vector
  std::mutex no_gen_mu;                     // stands in for GenState::mu when there is none

  std::atomic<uint64_t> bytes_sent{0}, bytes_received{0}, frames_sent{0}, frames_received{0},
      tuples_sent{0}, tuples_received{0}, refused{0};

  std::mutex mu_;
  std::shared_ptr<GenState> gen_;  // current; null between generations
  // Ended generations, sockets closed, kept so that a late pop or send of their engine finds
  // `ended` instead of freed memory (the engine of g must be gone before g + kKeptGenerations).
  std::deque<std::shared_ptr<GenState>> ended_;
  std::function<void(int, ControlMessage&&)> control_handler_;
  std::function<void(const Status&)> failure_handler_;
};

// Owner's fiber (any engine thread), outside the inbox's lock.
void GenState::on_pop(uint32_t channel) {
  std::shared_ptr<Link> link;
  bool now = false;
  {
    std::lock_guard lk(mu);
    if (ended) return;
    auto it = recv.find(channel);
    if (it == recv.end()) return;
    RecvChannel& ch = it->second;
    ch.credits.popped();
    if (!ch.dirty) {
      ch.dirty = true;
      dirty[static_cast<size_t>(ch.from)].push_back(channel);
    }
    link = in[static_cast<size_t>(ch.from)];
    // Return credits at once when a quarter of the window is waiting to go back (the sender
    // may be parked on them); fewer wait for the flush timer, coalesced with others.
    now = ch.credits.pending() >= std::max<size_t>(1, impl.opt.credits / 4);
  }
  if (!link) return;
  std::lock_guard lk(link->mu);
  impl.want_write_locked(link, now);
}

namespace {

class RemoteSender final : public ChannelSender {
 public:
  RemoteSender(Transport::Impl& impl, std::shared_ptr<Link> link, Generation gen, uint32_t channel)
      : impl_(impl), link_(std::move(link)), gen_(gen), channel_(channel) {}

  // The upstream task's fiber.
  bool send(Message&& m, std::vector<Tuple>* spare) override {
    Link& l = *link_;
    // The last credit spent: nothing more can follow on this channel until the receiver has
    // this, so waiting for the flush timer would only add its delay to every round trip.
    bool last_credit = false;
    {
      std::unique_lock lk(l.mu);
      SendCredits& credits = l.credits.at(channel_);
      if (!l.closed && credits.available() == 0) {
        ++l.parked;
        l.credit_cv.wait(lk, [&] { return l.closed || credits.available() > 0; });
        --l.parked;
      }
      if (l.closed) return false;
      (void)credits.try_consume();
      last_credit = credits.available() == 0;
    }
    // Encoded outside the lock: only this fiber sends on this channel, so order holds.
    scratch_.clear();
    encode_message(scratch_, gen_, channel_, m);
    if (scratch_.size() - 4 > kMaxFrameBytes) {
      std::string what = "transport: a batch of " + std::to_string(m.tuples.size()) +
                         " tuples encodes to " + std::to_string(scratch_.size()) +
                         " bytes, over the frame limit of " + std::to_string(kMaxFrameBytes) +
                         ": lower worker.batch.size";
      auto link = link_;
      Transport::Impl& impl = impl_;
      {
        std::lock_guard lk(l.mu);
        if (l.closed) return false;
        asio::post(impl.io, [&impl, link, what] { impl.fail(*link, Status::Invalid(what)); });
      }
      return false;
    }
    bool now = m.kind != Message::Kind::data || last_credit;
    {
      std::lock_guard lk(l.mu);
      if (l.closed) return false;
      l.out.append(scratch_);
      impl_.frames_sent.fetch_add(1, std::memory_order_relaxed);
      impl_.tuples_sent.fetch_add(m.tuples.size(), std::memory_order_relaxed);
      impl_.want_write_locked(link_, now || l.out.size() >= kWriteNowBytes);
    }
    if (scratch_.capacity() > 4 * kWriteNowBytes) scratch_ = std::string();
    if (spare) {
      m.tuples.clear();
      *spare = std::move(m.tuples);
    }
    return true;
  }

 private:
  Transport::Impl& impl_;
  std::shared_ptr<Link> link_;
  Generation gen_;
  uint32_t channel_;
  std::string scratch_;
};

}  // namespace

Result<std::unique_ptr<Transport>> Transport::start(TransportOptions options) {
  if (options.credits == 0) return Status::Invalid("transport: credits must be at least 1");
  if (options.heartbeat.count() <= 0 || options.heartbeat_timeout <= options.heartbeat)
    return Status::Invalid("transport: the heartbeat timeout (" +
                           std::to_string(options.heartbeat_timeout.count()) +
                           " ms) must exceed the heartbeat interval (" +
                           std::to_string(options.heartbeat.count()) + " ms)");
  auto impl = std::make_unique<Impl>(std::move(options));
  SLEET_RETURN_IF_ERROR(impl->start());
  return std::unique_ptr<Transport>(new Transport(std::move(impl)));
}

Transport::Transport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Transport::~Transport() = default;

uint16_t Transport::port() const {
  return impl_->port;
}

Status Transport::begin_generation(Generation gen, int self, std::vector<Peer> peers) {
  return impl_->begin_generation(gen, self, std::move(peers));
}

Status Transport::await_mesh(std::chrono::steady_clock::time_point until) {
  return impl_->await_mesh(until);
}

void Transport::end_generation() {
  impl_->end_generation();
}

void Transport::send_control(int to_worker, ControlMessage message) {
  Impl& impl = *impl_;
  std::shared_ptr<GenState> g = impl.current();
  if (!g || to_worker < 0 || static_cast<size_t>(to_worker) >= g->peers.size()) return;
  if (to_worker == g->self) {
    // To this worker itself: delivered like a remote one, on the io thread.
    asio::post(impl.io, [g, m = std::move(message)]() mutable {
      bool ended;
      {
        std::lock_guard lk(g->mu);
        ended = g->ended;
      }
      if (!ended && g->on_control) g->on_control(g->self, std::move(m));
    });
    return;
  }
  const std::shared_ptr<Link>& l = g->out[static_cast<size_t>(to_worker)];
  std::string bytes;
  encode_control(bytes, g->gen, message);
  std::lock_guard lk(l->mu);
  if (l->closed) return;
  l->out.append(bytes);
  impl.frames_sent.fetch_add(1, std::memory_order_relaxed);
  impl.want_write_locked(l, true);
}

void Transport::on_control(std::function<void(int from_worker, ControlMessage&&)> handler) {
  std::lock_guard lk(impl_->mu_);
  impl_->control_handler_ = std::move(handler);
}

void Transport::on_failure(std::function<void(const Status&)> handler) {
  std::lock_guard lk(impl_->mu_);
  impl_->failure_handler_ = std::move(handler);
}

Result<std::unique_ptr<ChannelSender>> Transport::sender(size_t index, const PlannedChannel&,
                                                         int to_worker) {
  std::shared_ptr<GenState> g = impl_->current();
  if (!g) return Status::Invalid("transport: a remote channel without a generation");
  if (to_worker < 0 || static_cast<size_t>(to_worker) >= g->peers.size() || to_worker == g->self)
    return Status::Invalid("transport: channel " + std::to_string(index) + " to worker index " +
                           std::to_string(to_worker) + ", which is not a peer");
  if (index > UINT32_MAX) return Status::Invalid("transport: channel index out of range");
  const std::shared_ptr<Link>& l = g->out[static_cast<size_t>(to_worker)];
  {
    std::lock_guard lk(l->mu);
    if (!l->credits.try_emplace(static_cast<uint32_t>(index), impl_->opt.credits).second)
      return Status::Invalid("transport: channel " + std::to_string(index) +
                             " has a sender already");
  }
  return std::unique_ptr<ChannelSender>(
      new RemoteSender(*impl_, l, g->gen, static_cast<uint32_t>(index)));
}

Status Transport::receiver(size_t index, const PlannedChannel& channel, int from_worker,
                           Inbox& inbox, const Fields* fields, const TupleSource* source) {
  std::shared_ptr<GenState> g = impl_->current();
  if (!g) return Status::Invalid("transport: a remote channel without a generation");
  if (from_worker < 0 || static_cast<size_t>(from_worker) >= g->peers.size() ||
      from_worker == g->self)
    return Status::Invalid("transport: channel " + std::to_string(index) + " from worker index " +
                           std::to_string(from_worker) + ", which is not a peer");
  if (index > UINT32_MAX) return Status::Invalid("transport: channel index out of range");
  if (channel.input >= inbox.inputs())
    return Status::Invalid("transport: channel " + std::to_string(index) + " into input " +
                           std::to_string(channel.input) + " of an inbox of " +
                           std::to_string(inbox.inputs()));
  uint32_t c = static_cast<uint32_t>(index);
  std::lock_guard lk(g->mu);
  if (g->ended) return Status(Code::cancelled, "transport: the generation ended");
  auto [it, fresh] = g->recv.try_emplace(c, impl_->opt.credits);
  RecvChannel& ch = it->second;
  if (ch.registered)
    return Status::Invalid("transport: channel " + std::to_string(index) +
                           " has a receiver already");
  if (!fresh && ch.from != from_worker)
    return Status::Corruption("transport: messages for channel " + std::to_string(index) +
                              " came from worker index " + std::to_string(ch.from) +
                              ", the plan says " + std::to_string(from_worker));
  ch.from = from_worker;
  ch.inbox = &inbox;
  ch.input = channel.input;
  ch.fields = fields;
  ch.source = source;
  ch.listener = std::make_unique<CreditListener>(*g, c);
  inbox.set_pop_listener(channel.input, ch.listener.get());
  // What arrived before the engine was built, in order. Within the credits, so never blocks.
  FieldsResolver resolve = [fields, source](uint32_t) { return ChannelBinding{fields, source}; };
  for (auto& [type, payload] : ch.backlog) {
    Message m;
    Generation gen;
    uint32_t got = 0;
    SLEET_RETURN_IF_ERROR(decode_message(FrameView{type, payload}, &resolve, gen, got, m));
    impl_->tuples_received.fetch_add(m.tuples.size(), std::memory_order_relaxed);
    (void)inbox.push(channel.input, std::move(m));
  }
  ch.backlog.clear();
  ch.registered = true;
  return Status::Ok();
}

TransportStats Transport::stats() const {
  const Impl& i = *impl_;
  TransportStats s;
  s.bytes_sent = i.bytes_sent.load(std::memory_order_relaxed);
  s.bytes_received = i.bytes_received.load(std::memory_order_relaxed);
  s.frames_sent = i.frames_sent.load(std::memory_order_relaxed);
  s.frames_received = i.frames_received.load(std::memory_order_relaxed);
  s.tuples_sent = i.tuples_sent.load(std::memory_order_relaxed);
  s.tuples_received = i.tuples_received.load(std::memory_order_relaxed);
  s.refused = i.refused.load(std::memory_order_relaxed);
  return s;
}

}  // namespace sleet::cluster
