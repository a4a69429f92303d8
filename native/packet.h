// AF_PACKET sockets for the dhcp daemon (packet.c).
#ifndef CNI_PACKET_H
#define CNI_PACKET_H
#include <node_api.h>

/** Adds packetOpen, packetSend and packetClose to exports; NULL, or exports. */
napi_value cni_packet_init(napi_env env, napi_value exports);
#endif
