/*
 * scim.h - front header of the SCIM 2.0 service provider (RFC 7643/7644) and identity store.
 */
#ifndef SCIM_SCIM_H
#define SCIM_SCIM_H

#include "scim/store.h"

#endif
