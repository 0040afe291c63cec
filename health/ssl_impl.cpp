// health/ssl_impl.cpp — the one translation unit that compiles Boost.Asio's SSL support.
//
// Owns: the out-of-line definitions of <boost/asio/ssl.hpp> (the build defines
// BOOST_ASIO_SEPARATE_COMPILATION), used by the HTTPS probe in health/probes.cpp.
// Never: anything else. If another target ever compiles <boost/asio/ssl/impl/src.hpp>
// too (e.g. relay/asio_impl.cpp for STARTTLS), delete this file: the definitions must
// exist exactly once in the binary, or the link fails with duplicate symbols.
#include <boost/asio/ssl/impl/src.hpp>
