"""PostObject: a browser's form upload straight into a bucket (oss-postobject.md).

One module per step, in the order a request flows through them:

1. :mod:`.form` reads the multipart body: the fields before ``file``, then (once they are
   judged) the file itself, streamed to a spool file within the allowed sizes.
2. :mod:`.plan` judges those fields: :mod:`.signature` (who signed the form, V4 or V1),
   :mod:`.policy` (the policy document and its conditions), then the signer's RAM
   permission and the attributes the object will keep.
3. :mod:`.store` commits the spooled file into the bucket, delivers the upload callback
   (:mod:`localcloud.oss.callback` builds and signs it, :mod:`localcloud.oss.callbackclient`
   sends it; CompleteMultipartUpload shares both) and answers.

:mod:`.settings` holds every configurable reading of an UNCONFIRMED OSS behaviour and
:mod:`.errors` every PostObject refusal. Nothing here imports the signing function.
"""
