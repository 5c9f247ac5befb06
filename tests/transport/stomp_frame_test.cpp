#include "xiaoxiang/transport/stomp_frame.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace xiaoxiang {
namespace {

using namespace std::string_literals;

// Parses a whole stream; the frames it produced, and the rejection if any.
struct parsed {
  std::vector<stomp_frame_copy> frames;
  status_result status;
};

parsed parse_all(std::string_view stream, stomp_limits limits = {},
                 stomp_version version = stomp_version::v1_2) {
  stomp_parser parser(limits, version);
  parsed out;
  out.status = parser.feed(stream, [&](const stomp_frame& f) { out.frames.push_back(copy_frame(f)); });
  return out;
}

stomp_frame_copy parse_one(std::string_view stream) {
  auto p = parse_all(stream);
  EXPECT_TRUE(p.status.ok()) << p.status.message();
  EXPECT_EQ(p.frames.size(), 1u);
  return p.frames.empty() ? stomp_frame_copy{} : p.frames.front();
}

void expect_rejected(std::string_view stream, errc code, const char* field, stomp_limits limits = {},
                     stomp_version version = stomp_version::v1_2) {
  const auto p = parse_all(stream, limits, version);
  EXPECT_EQ(p.status.code, code) << p.status.message();
  ASSERT_NE(p.status.field, nullptr);
  EXPECT_STREQ(p.status.field, field);
}

using headers = std::vector<std::pair<std::string, std::string>>;

TEST(StompFrame, CommandNamesRoundTrip) {
  for (int i = 0; i <= static_cast<int>(stomp_command::error); ++i) {
    const auto c = static_cast<stomp_command>(i);
    const auto back = stomp_command_from_name(stomp_command_name(c));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, c);
  }
  const auto bad = stomp_command_from_name("send");
  EXPECT_EQ(bad.error(), errc::stomp_unknown_command);
  EXPECT_TRUE(is_client_command(stomp_command::disconnect));
  EXPECT_FALSE(is_client_command(stomp_command::connected));
  EXPECT_TRUE(stomp_command_has_body(stomp_command::send));
  EXPECT_FALSE(stomp_command_has_body(stomp_command::subscribe));
  EXPECT_STREQ(stomp_version_name(stomp_version::v1_1), "1.1");
}

TEST(StompFrame, ParsesConnectWithCrLfLineEndings) {
  const auto f = parse_one("CONNECT\r\naccept-version:1.2\r\nhost:stomp.example\r\n\r\n\0"s);
  EXPECT_EQ(f.command, stomp_command::connect);
  EXPECT_EQ(f.headers, (headers{{"accept-version", "1.2"}, {"host", "stomp.example"}}));
  EXPECT_TRUE(f.body.empty());
}

TEST(StompFrame, FirstOfRepeatedHeadersWins) {
  stomp_parser parser;
  int seen = 0;
  const auto st = parser.feed("MESSAGE\nfoo:World\nfoo:Hello\n\n\0"s, [&](const stomp_frame& f) {
    ++seen;
    EXPECT_EQ(f.headers.size(), 2u);
    EXPECT_EQ(f.header("foo"), "World");
    EXPECT_EQ(f.header("bar"), std::nullopt);
  });
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(seen, 1);
}

TEST(StompFrame, DecodesEscapesExceptInConnect) {
  auto f = parse_one("SEND\na\\cb:x\\ny\\rz\\\\w\\c\n\n\0"s);
  EXPECT_EQ(f.headers, (headers{{"a:b", "x\ny\rz\\w:"}}));
  // CONNECT and CONNECTED are never escaped (1.0 compatibility): taken literally.
  f = parse_one("CONNECT\nlogin:a\\cb\npasscode:x:y\n\n\0"s);
  EXPECT_EQ(f.headers, (headers{{"login", "a\\cb"}, {"passcode", "x:y"}}));
  // A colon after the first one belongs to the value.
  f = parse_one("SEND\ndestination:/app:tracking\n\n\0"s);
  EXPECT_EQ(f.headers, (headers{{"destination", "/app:tracking"}}));
}

TEST(StompFrame, UndefinedEscapesAreFatal) {
  expect_rejected("SEND\na:b\\t\n\n\0"s, errc::stomp_invalid_escape, "header");
  expect_rejected("SEND\na:b\\\n\n\0"s, errc::stomp_invalid_escape, "header");
  expect_rejected("SEND\na\\x:b\n\n\0"s, errc::stomp_invalid_escape, "header");
  // 1.1 has no \r escape; 1.0 has no escapes at all.
  expect_rejected("SEND\na:b\\r\n\n\0"s, errc::stomp_invalid_escape, "header", {},
                  stomp_version::v1_1);
  const auto p = parse_all("SEND\na:b\\t\n\n\0"s, {}, stomp_version::v1_0);
  ASSERT_TRUE(p.status.ok());
  EXPECT_EQ(p.frames.at(0).headers, (headers{{"a", "b\\t"}}));
}

TEST(StompFrame, MalformedHeaderLines) {
  expect_rejected("SEND\nnocolon\n\n\0"s, errc::stomp_invalid_header, "header");
  expect_rejected("SEND\n:value\n\n\0"s, errc::stomp_invalid_header, "header");
  expect_rejected("SEND\na:b\rc\n\n\0"s, errc::stomp_invalid_header, "header");
  // A frame that forgot its blank line: the NUL lands in the headers.
  expect_rejected("CONNECT\n\0"s, errc::stomp_invalid_header, "header");
  expect_rejected("FOO\n\n\0"s, errc::stomp_unknown_command, "command");
  expect_rejected("send\n\n\0"s, errc::stomp_unknown_command, "command");
  expect_rejected("\0"s, errc::stomp_unknown_command, "command");
}

TEST(StompFrame, BodyUpToNulOrContentLength) {
  auto f = parse_one("SEND\ndestination:/app/tracking\n\n{\"a\":1}\0"s);
  EXPECT_EQ(f.body, "{\"a\":1}");
  // With content-length a body may contain NUL.
  f = parse_one("SEND\ncontent-length:5\n\na\0b\0c\0"s);
  EXPECT_EQ(f.body, "a\0b\0c"s);
  // content-length:0 on a frame without body is fine.
  f = parse_one("SUBSCRIBE\nid:0\ncontent-length:0\n\n\0"s);
  EXPECT_EQ(f.command, stomp_command::subscribe);
  // The first content-length wins.
  f = parse_one("SEND\ncontent-length:2\ncontent-length:9\n\nab\0"s);
  EXPECT_EQ(f.body, "ab");
}

TEST(StompFrame, ContentLengthErrors) {
  expect_rejected("SEND\ncontent-length:2\n\nabc\0"s, errc::stomp_missing_null, "body");
  expect_rejected("SEND\ncontent-length:x\n\n\0"s, errc::stomp_invalid_content_length, "content-length");
  expect_rejected("SEND\ncontent-length:-1\n\n\0"s, errc::stomp_invalid_content_length, "content-length");
  expect_rejected("SEND\ncontent-length:\n\n\0"s, errc::stomp_invalid_content_length, "content-length");
  expect_rejected("SEND\ncontent-length:99999999999999999999\n\n\0"s,
                  errc::stomp_invalid_content_length, "content-length");
  expect_rejected("SEND\ncontent-length:65537\n\n"s, errc::stomp_body_too_large, "max_body_bytes");
}

TEST(StompFrame, BodyNotAllowedOnOtherCommands) {
  expect_rejected("SUBSCRIBE\nid:0\n\nx\0"s, errc::stomp_body_not_allowed, "body");
  expect_rejected("ACK\nid:0\ncontent-length:1\n\nx\0"s, errc::stomp_body_not_allowed, "body");
}

TEST(StompFrame, HeartBeatEolsBetweenFrames) {
  stomp_parser parser;
  std::vector<stomp_frame_copy> frames;
  const auto st = parser.feed("\n\r\n\nSEND\n\nA\0\n\r\nSEND\n\nB\0\n"s,
                              [&](const stomp_frame& f) { frames.push_back(copy_frame(f)); });
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].body, "A");
  EXPECT_EQ(frames[1].body, "B");
  EXPECT_EQ(parser.heartbeats(), 6u);
  EXPECT_TRUE(parser.idle());
}

TEST(StompFrame, LimitsNameTheirLimit) {
  stomp_limits limits;
  limits.max_frame_bytes = 10;  // "SEND\n" + "\n" + "abc" + NUL = 10 bytes
  EXPECT_TRUE(parse_all("SEND\n\nabc\0"s, limits).status.ok());
  expect_rejected("SEND\n\nabcd\0"s, errc::stomp_frame_too_large, "max_frame_bytes", limits);
  expect_rejected("SEND\ncontent-length:4\n\nabcd\0"s, errc::stomp_frame_too_large,
                  "max_frame_bytes", limits);

  limits = {};
  limits.max_headers = 2;
  EXPECT_TRUE(parse_all("SEND\na:1\nb:2\n\n\0"s, limits).status.ok());
  expect_rejected("SEND\na:1\nb:2\nc:3\n\n\0"s, errc::stomp_too_many_headers, "max_headers", limits);

  limits = {};
  limits.max_header_line_bytes = 8;
  EXPECT_TRUE(parse_all("SEND\nabc:1234\r\n\n\0"s, limits).status.ok());
  expect_rejected("SEND\nabc:12345\n\n\0"s, errc::stomp_header_line_too_long,
                  "max_header_line_bytes", limits);
  // Without a newline in sight the line is refused as soon as it is too long.
  expect_rejected("SEND\nabc:12345678"s, errc::stomp_header_line_too_long,
                  "max_header_line_bytes", limits);
  expect_rejected("SUBSCRIBEX\n"s, errc::stomp_header_line_too_long, "max_header_line_bytes",
                  limits);

  limits = {};
  limits.max_body_bytes = 3;
  EXPECT_TRUE(parse_all("SEND\n\nabc\0"s, limits).status.ok());
  expect_rejected("SEND\n\nabcd"s, errc::stomp_body_too_large, "max_body_bytes", limits);
  expect_rejected("SEND\ncontent-length:4\n\n"s, errc::stomp_body_too_large, "max_body_bytes",
                  limits);
}

TEST(StompFrame, StaysFailedAfterARejection) {
  stomp_parser parser;
  int frames = 0;
  auto st = parser.feed("FOO\n\n\0"s, [&](const stomp_frame&) { ++frames; });
  EXPECT_EQ(st.code, errc::stomp_unknown_command);
  EXPECT_TRUE(parser.failed());
  st = parser.feed("SEND\n\n\0"s, [&](const stomp_frame&) { ++frames; });
  EXPECT_EQ(st.code, errc::stomp_unknown_command);
  EXPECT_EQ(frames, 0);
}

TEST(StompFrame, EncodesWithEscapingAndContentLength) {
  std::string out;
  const stomp_header hs[] = {{"destination", "/topic/a:b"}, {"x", "l1\nl2\r\\"}};
  encode_frame({stomp_command::message, hs, "{}"}, out);
  EXPECT_EQ(out, "MESSAGE\ndestination:/topic/a\\cb\nx:l1\\nl2\\r\\\\\ncontent-length:2\n\n{}\0"s);

  out.clear();
  const stomp_header connected[] = {{"version", "1.2"}, {"server", "a\\b:c"}};
  encode_frame({stomp_command::connected, connected, {}}, out);
  EXPECT_EQ(out, "CONNECTED\nversion:1.2\nserver:a\\b:c\n\n\0"s);

  out.clear();
  const stomp_header with_length[] = {{"content-length", "3"}};
  encode_frame({stomp_command::send, with_length, std::string_view("a\0b", 3)}, out);
  EXPECT_EQ(out, "SEND\ncontent-length:3\n\na\0b\0"s);

  out.clear();
  encode_frame({stomp_command::send, hs, {}}, out, stomp_version::v1_1);
  EXPECT_EQ(out, "SEND\ndestination:/topic/a\\cb\nx:l1\\nl2\r\\\\\n\n\0"s);
}

// A random frame that encode_frame can represent, and the frame the parser
// must give back (encode_frame adds content-length to a non-empty body).
stomp_frame_copy random_frame(std::mt19937_64& rng) {
  static const stomp_command kCommands[] = {stomp_command::send, stomp_command::message,
                                            stomp_command::error, stomp_command::subscribe,
                                            stomp_command::connect, stomp_command::ack};
  static const char kAlphabet[] = "ab:\\\n\r\0 /\xe4\xbd\xa0-";
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  auto text = [&](std::size_t max, bool plain, bool nul_ok) {
    std::string s;
    const std::size_t n = pick(max + 1);
    for (std::size_t i = 0; i < n; ++i) {
      char c = kAlphabet[pick(sizeof kAlphabet - 1)];
      if (plain && (c == ':' || c == '\n' || c == '\r')) c = 'p';
      if (!nul_ok && c == '\0') c = 'z';  // a header line never holds a NUL
      s.push_back(c);
    }
    return s;
  };
  stomp_frame_copy f;
  f.command = kCommands[pick(std::size(kCommands))];
  const bool plain = f.command == stomp_command::connect;
  const std::size_t n = pick(5);
  for (std::size_t i = 0; i < n; ++i) {
    std::string name = text(6, plain, false);
    if (name.empty() || name == "content-length") name = "h";
    f.headers.emplace_back(name, text(12, plain, false));
  }
  if (stomp_command_has_body(f.command)) f.body = text(40, false, true);
  if (!f.body.empty()) f.headers.emplace_back("content-length", std::to_string(f.body.size()));
  return f;
}

TEST(StompFrame, RandomFragmentationsParseToTheSameFrames) {
  std::mt19937_64 rng(20261125);
  for (int round = 0; round < 300; ++round) {
    std::vector<stomp_frame_copy> oracle;
    std::string stream;
    const int frames = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < frames; ++i) {
      for (int hb = static_cast<int>(rng() % 3); hb > 0; --hb) stream += (rng() % 2) ? "\n" : "\r\n";
      oracle.push_back(random_frame(rng));
      encode_frame(oracle.back(), stream);
    }
    stomp_parser parser;
    std::vector<stomp_frame_copy> got;
    std::size_t at = 0;
    while (at < stream.size()) {
      const std::size_t n = std::min<std::size_t>(stream.size() - at, 1 + rng() % 23);
      const auto st = parser.feed(std::string_view(stream).substr(at, n),
                                  [&](const stomp_frame& f) { got.push_back(copy_frame(f)); });
      ASSERT_TRUE(st.ok()) << "round " << round << ": " << st.message();
      at += n;
    }
    ASSERT_EQ(got, oracle) << "round " << round;
    EXPECT_TRUE(parser.idle());
  }
}

TEST(StompFrame, EverySplitPointOfAStream) {
  std::string stream = "CONNECT\naccept-version:1.2\n\n\0\nSEND\nx:a\\cb\r\ncontent-length:3\n\na\0b\0"s
                       "SUBSCRIBE\nid:1\n\n\0"s;
  const auto whole = parse_all(stream);
  ASSERT_TRUE(whole.status.ok());
  ASSERT_EQ(whole.frames.size(), 3u);
  for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
    stomp_parser parser;
    std::vector<stomp_frame_copy> got;
    auto sink = [&](const stomp_frame& f) { got.push_back(copy_frame(f)); };
    ASSERT_TRUE(parser.feed(std::string_view(stream).substr(0, cut), sink).ok());
    ASSERT_TRUE(parser.feed(std::string_view(stream).substr(cut), sink).ok());
    EXPECT_EQ(got, whole.frames) << "cut at " << cut;
  }
}

TEST(StompFrame, BuffersKeepTheirCapacityInSteadyState) {
  // The parser reuses its buffers: after a first frame, the same shape of
  // frame does not grow them (no allocation per frame).
  stomp_parser parser;
  const std::string frame = "SEND\ndestination:/app/tracking\nreceipt:r1\n\n{\"type\":1}\0"s;
  const stomp_frame* first = nullptr;
  const char* body_data = nullptr;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(parser.feed(frame, [&](const stomp_frame& f) {
      if (first == nullptr) {
        first = &f;
        body_data = f.body.data();
      }
      EXPECT_EQ(f.body.data(), body_data);
    }).ok());
  }
}

}  // namespace
}  // namespace xiaoxiang
