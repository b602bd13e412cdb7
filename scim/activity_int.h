/*
 * activity_int.h - scim's own: noting each answered SCIM request for the provisioning status
 * (activity.c; read through scim.h scim_activity_get).
 */
#ifndef SCIM_ACTIVITY_INT_H
#define SCIM_ACTIVITY_INT_H

struct gh_req;

/* Note r, just answered with its reply's status (call right after gh_reply): counted, and kept
 * as the last request (and the last error when >= 400). Thread-safe. */
void scim_activity_note(const struct gh_req *r);

#endif
