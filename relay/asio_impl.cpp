// relay/asio_impl.cpp — the one translation unit that compiles Boost.Asio
// (BOOST_ASIO_SEPARATE_COMPILATION), so other files only parse declarations.
#include <boost/asio/impl/src.hpp>
// The SSL part likewise, once (relay/tls_context and the session driver use it).
#include <boost/asio/ssl/impl/src.hpp>
