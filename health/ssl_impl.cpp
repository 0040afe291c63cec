// health/ssl_impl.cpp — the one translation unit that compiles Boost.Asio's SSL support
// (BOOST_ASIO_SEPARATE_COMPILATION) for the HTTPS probe. If another target ever compiles
// <boost/asio/ssl/impl/src.hpp> too (e.g. relay/asio_impl.cpp for STARTTLS), delete this
// file: the definitions must exist exactly once in the binary.
#include <boost/asio/ssl/impl/src.hpp>
