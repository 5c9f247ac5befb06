// A host application that mounts xiaoxiang's server in ITS OWN io_context:
// STOMP over SockJS / WebSocket at /ws and the HTTP API at /api next to the
// host's own routes, while the host's queue consumer feeds the tracker.
// A STOMP client (Beast, on 127.0.0.1) subscribes to an order and prints the
// messages the host's ingest pushes to it; then everything stops.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <iostream>
#include <thread>

#include "xiaoxiang/server/stomp_session.hpp"
#include "xiaoxiang/server/tracking_api.hpp"
#include "xiaoxiang/server/web_server.hpp"
#include "xiaoxiang/storage/memory_storage.hpp"
#include "xiaoxiang/track/tracker.hpp"
#include "xiaoxiang/transport/broker.hpp"

namespace net = boost::asio;
namespace beast = boost::beast;
using namespace xiaoxiang;

int main() {
  // The engine, as the host wires it (DESIGN.md §2).
  memory_storage store;
  broker hub;
  tracker engine(tracker_options{}, &store, &hub);

  // The host's io_context; the server runs in it, next to the host's timers.
  net::io_context io;
  web_server_options options;
  options.port = 0;  // any free port
  web_server server(io, options);
  server.mount_sockjs("/ws", [&](message_channel& channel) {
    return std::make_unique<stomp_session>(stomp_session_options{}, hub, &engine, channel);
  });
  tracking_api api(engine, hub, &store);
  api.mount(server);
  server.mount_http("/host/health", [](const http_request&, http_responder respond) {
    respond(http_response{200, "application/json", "{\"ok\":true}", {}});
  });
  server.start();
  std::cout << "serving on " << server.url() << "\n";

  // The host's queue consumer: an order, a rider, then a position every 100 ms.
  const timestamp_ms t0 = system_clock().now();
  auto make = [&](event_kind kind, int n) {
    event e;
    e.kind = kind;
    e.id = *id::make("E" + std::to_string(n));
    e.time = t0 + n * 1000;
    e.order = *id::make("O1");
    return e;
  };
  event created = make(event_kind::order_created, 1);
  created.user = *id::make("U1");
  created.warehouse = *id::make("W1");
  created.origin = {116.40, 39.90};
  created.destination = {116.42, 39.91};
  engine.ingest(created);
  engine.ingest(make(event_kind::order_paid, 2));
  event assigned = make(event_kind::rider_assigned, 3);
  assigned.rider = *id::make("R1");
  engine.ingest(assigned);

  net::steady_timer feed(io);
  int sent = 0;
  std::function<void()> tick = [&] {
    feed.expires_after(std::chrono::milliseconds(100));
    feed.async_wait([&](beast::error_code ec) {
      if (ec || sent >= 30) return;
      event p;
      p.kind = event_kind::rider_position;
      p.id = *id::make("P" + std::to_string(++sent));
      p.rider = *id::make("R1");
      p.time = t0 + 4000 + sent * 15000LL;
      p.position = {116.40 + sent * 0.0005, 39.90 + sent * 0.0002};
      p.has_position = true;
      engine.ingest(p);
      tick();
    });
  };
  tick();
  std::thread io_thread([&] { io.run(); });

  // A STOMP client on the raw WebSocket endpoint, negotiating v12.stomp.
  int received = 0;
  try {
    net::io_context client_io;
    beast::websocket::stream<beast::tcp_stream> ws(client_io);
    beast::get_lowest_layer(ws).connect({net::ip::make_address("127.0.0.1"), server.port()});
    ws.set_option(beast::websocket::stream_base::decorator([](beast::websocket::request_type& req) {
      req.set(beast::http::field::sec_websocket_protocol, "v12.stomp");
    }));
    ws.handshake("127.0.0.1", "/ws/websocket");
    using namespace std::string_literals;
    ws.write(net::buffer("CONNECT\naccept-version:1.2\nhost:127.0.0.1\nheart-beat:0,0\n\n\0"s));
    ws.write(net::buffer("SUBSCRIBE\nid:0\ndestination:/topic/orders/O1\n\n\0"s));
    while (received < 4) {
      beast::flat_buffer buffer;
      ws.read(buffer);
      const std::string frame = beast::buffers_to_string(buffer.data());
      const std::string command = frame.substr(0, frame.find('\n'));
      if (command == "MESSAGE") {
        ++received;
        std::cout << "MESSAGE " << frame.substr(frame.find("\n\n") + 2, 90) << "...\n";
      } else if (!command.empty()) {
        std::cout << command << "\n";
      }
    }
    ws.close(beast::websocket::close_code::normal);
  } catch (const std::exception& e) {
    std::cerr << "client: " << e.what() << "\n";
  }

  server.stop();
  io.stop();
  io_thread.join();
  std::cout << received << " messages received\n";
  return received >= 4 ? 0 : 1;
}
