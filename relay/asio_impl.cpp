// relay/asio_impl.cpp — the one translation unit that compiles Boost.Asio
// (BOOST_ASIO_SEPARATE_COMPILATION), so other files only parse declarations.
#include <boost/asio/impl/src.hpp>
// OpenSSL-backed pieces of Asio (ssl::context, ssl::stream): client STARTTLS, HTTPS probes.
#include <boost/asio/ssl/impl/src.hpp>
