// relay/asio_impl.cpp — the one translation unit that compiles Boost.Asio and Beast
// (BOOST_ASIO_SEPARATE_COMPILATION), so other files only parse declarations.
#include <boost/asio/impl/src.hpp>
// OpenSSL-backed pieces of Asio (ssl::context, ssl::stream): client STARTTLS, HTTPS probes.
#include <boost/asio/ssl/impl/src.hpp>
// Boost.Beast likewise (BOOST_BEAST_SEPARATE_COMPILATION): the admin HTTP endpoint.
#include <boost/beast/src.hpp>
