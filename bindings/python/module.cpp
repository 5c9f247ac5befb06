// The Python module xiaoxiang._core (re-exported by the package xiaoxiang):
// one bind_<area> per layer, in dependency order.
#include "common.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() =
      "xiaoxiang: real-time order tracking for front-warehouse grocery delivery. GeoHash and "
      "distances on NumPy arrays, the tracking engine, and the simulated city.";
  m.attr("__version__") = XIAOXIANG_VERSION;
  xiaoxiang::python::bind_core(m);
  xiaoxiang::python::bind_geo(m);
  xiaoxiang::python::bind_trajectory(m);
  xiaoxiang::python::bind_anomaly(m);
  xiaoxiang::python::bind_eta(m);
  xiaoxiang::python::bind_engine(m);
  xiaoxiang::python::bind_sim(m);
}
