package com.amazonaws.services.lambda.runtime;

/** The Cognito identity a mobile SDK client invoked with, if any. */
public interface CognitoIdentity {
    String getIdentityId();
    String getIdentityPoolId();
}
