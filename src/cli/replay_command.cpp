// xiaoxiang replay: an order's full history from storage, every version in
// device-time order — the article's 历史轨迹回放 from the command line.
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "command.hpp"
#include "db_key_file.hpp"
#include "xiaoxiang/storage/sqlite_storage.hpp"

namespace xiaoxiang::cli {
namespace {

constexpr const char* kHelp =
    "usage: xiaoxiang replay --db FILE --order ID [--format table|csv] [--db-key-file F]\n"
    "\n"
    "Prints an order's full history from a SQLite database written by the\n"
    "tracker (for example by 'xiaoxiang demo'): every version with its time,\n"
    "status, position, operator and what kind of change it was, in device-time\n"
    "order (late offline uploads appear where they happened).\n"
    "\n"
    "options:\n"
    "  --db FILE       the SQLite database\n"
    "  --order ID      the order id\n"
    "  --format F      table (default, for people) or csv (for tools)\n"
    "  --db-key-file F the keys of a database with encrypted locations\n"
    "                  (lines 'id:64-hex-digits'; docs/storage.md)\n"
    "  --help          this text\n";

const char* kind_name(record_kind k) {
  switch (k) {
    case record_kind::status_change: return "status";
    case record_kind::position: return "position";
    case record_kind::picking: return "picking";
    case record_kind::rider_assigned: return "assigned";
    case record_kind::alert: return "alert";
  }
  return "unknown";
}

int run(invocation& call) {
  options opts({}, {"db", "order", "format", "db-key-file"});
  if (!opts.parse(call.args)) {
    call.err << "xiaoxiang replay: " << opts.error() << "\n" << kHelp;
    return exit_usage;
  }
  if (opts.has("help")) {
    call.out << kHelp;
    return exit_ok;
  }
  const auto db = opts.get("db");
  const auto order_text = opts.get("order");
  const std::string format = opts.get("format").value_or("table");
  if (!db || !order_text) {
    call.err << "xiaoxiang replay: --db and --order are required\n" << kHelp;
    return exit_usage;
  }
  if (format != "table" && format != "csv") {
    call.err << "xiaoxiang replay: --format must be table or csv, got '" << format << "'\n";
    return exit_usage;
  }
  const auto order = id::make(*order_text, "--order");
  if (!order) {
    call.err << "xiaoxiang replay: " << order.message() << "\n";
    return exit_usage;
  }
  if (!std::filesystem::exists(*db)) {
    call.err << "xiaoxiang replay: no database at '" << *db << "'\n";
    return exit_failure;
  }
  sqlite_options db_options;
  if (!apply_db_key_file(opts.get("db-key-file"), db_options, call.err, "xiaoxiang replay"))
    return exit_usage;
  sqlite_storage store(*db, db_options);
  const auto row = store.load_order(*order);
  if (!row) {
    call.err << "xiaoxiang replay: order '" << order->view() << "' is not in " << *db << "\n";
    return exit_bad_input;
  }
  const auto records = store.trajectory(*order);
  std::ostream& out = call.out;
  if (format == "csv") {
    out << "version,create_time,status,kind,stage,longitude,latitude,operator_id,operator_type,"
           "event_id\n";
    for (const tracking_record& r : records) {
      out << r.version << ',' << r.create_time << ',' << to_code(r.status) << ',' << kind_name(r.kind)
          << ',' << to_code(r.stage) << ',';
      if (r.has_position)
        out << std::fixed << std::setprecision(6) << r.position.lon << ',' << r.position.lat
            << std::defaultfloat;
      else
        out << ',';
      out << ',' << r.operator_id.view() << ',' << to_code(r.op_type) << ',' << r.source_event.view()
          << '\n';
    }
    return exit_ok;
  }
  out << "order " << row->id.view() << "  user " << row->user.view() << "  warehouse "
      << row->warehouse.view() << "  status " << to_code(row->status) << " "
      << status_label(row->status) << "  version " << row->version << "\n";
  out << "address " << row->address << "\n\n";
  out << std::left << std::setw(8) << "version" << std::setw(26) << "time (UTC)" << std::setw(22)
      << "status" << std::setw(10) << "kind" << std::setw(24) << "position" << "operator\n";
  for (const tracking_record& r : records) {
    std::ostringstream status, position, who;
    status << to_code(r.status) << " " << status_name(r.status);
    if (r.kind == record_kind::picking) status.str(std::string("2 ") + picking_stage_name(r.stage));
    if (r.has_position)
      position << std::fixed << std::setprecision(6) << r.position.lon << "," << r.position.lat;
    if (!r.operator_id.empty())
      who << (r.op_type == operator_type::rider ? "rider " : "warehouse ") << r.operator_id.view();
    out << std::left << std::setw(8) << r.version << std::setw(26) << format_iso8601(r.create_time)
        << std::setw(22) << status.str() << std::setw(10) << kind_name(r.kind) << std::setw(24)
        << position.str() << who.str() << "\n";
  }
  out << "\n" << records.size() << " records\n";
  return exit_ok;
}

const bool registered = register_command({"replay", "print an order's full history from storage", run});

}  // namespace
}  // namespace xiaoxiang::cli
