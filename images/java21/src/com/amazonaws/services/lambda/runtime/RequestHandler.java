package com.amazonaws.services.lambda.runtime;

/** A handler whose event and result are converted from and to JSON. */
public interface RequestHandler<I, O> {
    O handleRequest(I input, Context context);
}
